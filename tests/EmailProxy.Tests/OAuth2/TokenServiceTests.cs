using System.Net;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;

namespace EmailProxy.Tests.OAuth2;

public sealed class TokenServiceTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private Task<TokenOutcome> GetAsync(TokenService service) =>
        service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();

    [Fact]
    public async Task GetAccessTokenAsync_FreshToken_ReturnedWithoutRequest()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = _fx.NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_FourMinutesLeft_RefreshesOnce()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        _fx.Time.Advance(TimeSpan.FromMinutes(56));
        var refreshed = await GetAsync(service);
        var again = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Token, refreshed.Kind);
        Assert.Equal("access-1", refreshed.AccessToken);
        Assert.Equal("access-1", again.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_SixMinutesLeft_NoRequest()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(6));

        Assert.Equal("old-access", (await GetAsync(_fx.NewService())).AccessToken);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_HundredConcurrentOnExpiredToken_OneRequestSameToken()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        var service = _fx.NewService();
        await service.SnapshotAsync(_fx.Account, CancellationToken.None).Guarded();
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var calls = Enumerable.Range(0, 100).Select(_ => service.GetAccessTokenAsync(_fx.Account, CancellationToken.None)).ToArray();
        await _fx.Endpoint.FirstRequest.Task.Guarded();

        Assert.All(calls, c => Assert.False(c.IsCompleted));
        Assert.Equal(1, _fx.Endpoint.RequestCount);
        _fx.Endpoint.Hold.SetResult();
        var outcomes = await Task.WhenAll(calls).Guarded();

        Assert.Equal(1, _fx.Endpoint.RequestCount);
        Assert.All(outcomes, o => Assert.Equal("access-1", o.AccessToken));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RotatedRefreshToken_SavedBeforeTokenIsReturned()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1), "old-refresh");
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("new-access", "new-refresh");

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal("new-access", outcome.AccessToken);
        var saved = await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None);
        Assert.NotNull(saved);
        Assert.Equal("new-refresh", saved.RefreshToken);
        Assert.Equal("new-access", saved.AccessToken);
        Assert.Equal(_fx.Time.GetUtcNow().AddHours(1), saved.AccessTokenExpiresAt);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("refresh_token", form["grant_type"]);
        Assert.Equal("old-refresh", form["refresh_token"]);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(TestAccounts.Scope, form["scope"]);
        Assert.False(form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshWithoutNewRefreshToken_KeepsOldRefreshToken()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1), "old-refresh");
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("new-access", null);

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal("new-access", outcome.AccessToken);
        var saved = await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None);
        Assert.Equal("old-refresh", saved?.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrant_SignInRequiredAndNoFurtherRequests()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var service = _fx.NewService();

        var first = await GetAsync(service);
        var second = await GetAsync(service);
        _fx.Time.Advance(TimeSpan.FromHours(1));
        var third = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.SignInRequired, first.Kind);
        Assert.Null(first.AccessToken);
        Assert.Contains("AADSTS70008", first.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_grant", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Correlation ID", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("old-refresh", first.Message, StringComparison.Ordinal);
        Assert.Equal(TokenOutcomeKind.SignInRequired, second.Kind);
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(TokenOutcomeKind.SignInRequired, third.Kind);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrantWhileOldTokenValid_SignInRequired()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var service = _fx.NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.SignInRequired, outcome.Kind);
        var described = await service.SnapshotAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.False(described.SignedIn);
        Assert.Contains("AADSTS70008", described.SignInReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServerErrorWithOldTokenStillValid_ReturnsOldToken()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _fx.Endpoint.Respond = (_, _) => new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StringContent("oops") };

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServerErrorWithoutValidToken_FailedWithReason()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _fx.Endpoint.Respond = (_, _) => new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StringContent("oops") };
        var service = _fx.NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Null(outcome.AccessToken);
        Assert.Contains("500", outcome.Message, StringComparison.Ordinal);

        // A passing failure is retried on the next call, not remembered like invalid_grant.
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"access-{n}", "refresh-2");
        Assert.Equal("access-2", (await GetAsync(service)).AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_TimeoutWithOldTokenStillValid_ReturnsOldToken()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _fx.Endpoint.Respond = (_, _) => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException());

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_TimeoutWithoutValidToken_FailedWithReason()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _fx.Endpoint.Respond = (_, _) => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException());

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("30 seconds", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_UnreachableEndpoint_FailedWithReason()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _fx.Endpoint.Respond = (_, _) => throw new HttpRequestException("Connection refused (login.example.test:443)");

        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("Connection refused", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NoStoredTokens_SignInRequiredWithoutRequest()
    {
        var outcome = await GetAsync(_fx.NewService());

        Assert.Equal(TokenOutcomeKind.SignInRequired, outcome.Kind);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task InvalidateAsync_CurrentToken_NextCallRefreshes()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        await service.InvalidateAsync(_fx.Account, "old-access", CancellationToken.None);
        var outcome = await GetAsync(service);

        Assert.Equal("access-1", outcome.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task InvalidateAsync_StaleToken_DoesNothing()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        await service.InvalidateAsync(_fx.Account, "an-older-access-token", CancellationToken.None);
        var outcome = await GetAsync(service);

        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AfterRestart_UsesSavedTokensWithoutRequest()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        Assert.Equal("access-1", (await GetAsync(_fx.NewService())).AccessToken);

        var restarted = _fx.NewService();
        var outcome = await GetAsync(restarted);

        Assert.Equal("access-1", outcome.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AccountNameInOtherCase_SharesState()
    {
        await _fx.SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = _fx.NewService();

        var outcome = await service.GetAccessTokenAsync(TestAccounts.Create("SALES@EXAMPLE.COM"), CancellationToken.None).Guarded();

        Assert.Equal("old-access", outcome.AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_FileWithNullSecrets_SignInNeededAndASignInMendsIt()
    {
        var store = _fx.NewStore();
        await store.SaveAsync(_fx.Account, new StoredTokens("a", _fx.Time.GetUtcNow().AddHours(1), "r", null), CancellationToken.None);
        var path = store.PathFor(_fx.Account.Name);
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("\"secrets\": \"", "\"secrets\": null, \"x\": \"", StringComparison.Ordinal));
        var service = _fx.NewService();

        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);

        await service.AcceptSignInAsync(_fx.Account, new TokenEndpointResult { AccessToken = "new", RefreshToken = "new-r", ExpiresAt = _fx.Time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        Assert.Equal("new", (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Single(Directory.GetFiles(_fx.TokenDirectory, "*.damaged-*"));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshOvertakenBySignInThenInvalidGrant_SignInIsKept()
    {
        await _fx.NewStore().SaveAsync(_fx.Account, new StoredTokens("old", _fx.Time.GetUtcNow().AddMinutes(1), "old-refresh", null), CancellationToken.None);
        var service = _fx.NewService();
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();

        var refresh = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        await service.AcceptSignInAsync(_fx.Account, new TokenEndpointResult { AccessToken = "signed-in", RefreshToken = "signed-in-refresh", ExpiresAt = _fx.Time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        _fx.Endpoint.Hold.SetResult();
        await refresh.Guarded();

        var after = await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.Equal(TokenOutcomeKind.Token, after.Kind);
        Assert.Equal("signed-in", after.AccessToken);
        Assert.Equal("signed-in-refresh", (await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None))!.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshOvertakenBySignInThenSucceeds_NewerTokensAreKept()
    {
        await _fx.NewStore().SaveAsync(_fx.Account, new StoredTokens("old", _fx.Time.GetUtcNow().AddMinutes(1), "old-refresh", null), CancellationToken.None);
        var service = _fx.NewService();
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("from-stale-refresh", "stale-rotated");

        var refresh = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        await service.AcceptSignInAsync(_fx.Account, new TokenEndpointResult { AccessToken = "signed-in", RefreshToken = "signed-in-refresh", ExpiresAt = _fx.Time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        _fx.Endpoint.Hold.SetResult();
        await refresh.Guarded();

        Assert.Equal("signed-in", (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal("signed-in-refresh", (await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None))!.RefreshToken);
    }

    [Fact]
    public void TokenOutcome_ToString_ShowsNoToken()
    {
        Assert.DoesNotContain("secret-access", TokenOutcome.Token("secret-access").ToString(), StringComparison.Ordinal);
    }
}
