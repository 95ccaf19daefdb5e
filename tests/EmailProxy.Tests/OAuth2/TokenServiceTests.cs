using System.Net;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

public sealed class TokenServiceTests : IDisposable
{
    private static readonly MasterKey Key = MasterKey.FromBytes(new byte[32]);

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _http;
    private readonly AccountOptions _account = TestAccounts.Create();

    public TokenServiceTests()
    {
        _http = new HttpClient(_endpoint) { Timeout = OAuthClient.RequestTimeout };
    }

    public void Dispose()
    {
        _endpoint.Hold?.TrySetResult();
        _http.Dispose();
        _temp.Dispose();
    }

    private TokenFileStore NewStore() => new(_temp.Combine("tokens"), Key, _time, NullLogger<TokenFileStore>.Instance);

    private TokenService NewService() =>
        new(new OAuthClient(_http, _time), NewStore(), _time, NullLogger<TokenService>.Instance);

    private Task SeedAsync(string accessToken, TimeSpan lifeLeft, string refreshToken = "old-refresh") =>
        NewStore().SaveAsync(
            _account,
            new StoredTokens(accessToken, _time.GetUtcNow() + lifeLeft, refreshToken, _time.GetUtcNow()),
            CancellationToken.None);

    private Task<TokenOutcome> GetAsync(TokenService service) =>
        service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded();

    [Fact]
    public async Task GetAccessTokenAsync_FreshToken_ReturnedWithoutRequest()
    {
        await SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_FourMinutesLeft_RefreshesOnce()
    {
        await SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        _time.Advance(TimeSpan.FromMinutes(56));
        var refreshed = await GetAsync(service);
        var again = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Token, refreshed.Kind);
        Assert.Equal("access-1", refreshed.AccessToken);
        Assert.Equal("access-1", again.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_SixMinutesLeft_NoRequest()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(6));

        Assert.Equal("old-access", (await GetAsync(NewService())).AccessToken);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_HundredConcurrentOnExpiredToken_OneRequestSameToken()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        var service = NewService();
        await service.DescribeAsync(_account, CancellationToken.None).Guarded();
        _endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var calls = Enumerable.Range(0, 100).Select(_ => service.GetAccessTokenAsync(_account, CancellationToken.None)).ToArray();
        await _endpoint.FirstRequest.Task.Guarded();

        Assert.All(calls, c => Assert.False(c.IsCompleted));
        Assert.Equal(1, _endpoint.RequestCount);
        _endpoint.Hold.SetResult();
        var outcomes = await Task.WhenAll(calls).Guarded();

        Assert.Equal(1, _endpoint.RequestCount);
        Assert.All(outcomes, o => Assert.Equal("access-1", o.AccessToken));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RotatedRefreshToken_SavedBeforeTokenIsReturned()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1), "old-refresh");
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Token("new-access", "new-refresh");

        var outcome = await GetAsync(NewService());

        Assert.Equal("new-access", outcome.AccessToken);
        var saved = await NewStore().LoadAsync(_account, CancellationToken.None);
        Assert.NotNull(saved);
        Assert.Equal("new-refresh", saved.RefreshToken);
        Assert.Equal("new-access", saved.AccessToken);
        Assert.Equal(_time.GetUtcNow().AddHours(1), saved.AccessTokenExpiresAt);
        var form = Assert.Single(_endpoint.Forms);
        Assert.Equal("refresh_token", form["grant_type"]);
        Assert.Equal("old-refresh", form["refresh_token"]);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(TestAccounts.Scope, form["scope"]);
        Assert.False(form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshWithoutNewRefreshToken_KeepsOldRefreshToken()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1), "old-refresh");
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Token("new-access", null);

        var outcome = await GetAsync(NewService());

        Assert.Equal("new-access", outcome.AccessToken);
        var saved = await NewStore().LoadAsync(_account, CancellationToken.None);
        Assert.Equal("old-refresh", saved?.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrant_SignInRequiredAndNoFurtherRequests()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var service = NewService();

        var first = await GetAsync(service);
        var second = await GetAsync(service);
        _time.Advance(TimeSpan.FromHours(1));
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
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_InvalidGrantWhileOldTokenValid_SignInRequired()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var service = NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.SignInRequired, outcome.Kind);
        var described = await service.DescribeAsync(_account, CancellationToken.None).Guarded();
        Assert.False(described.SignedIn);
        Assert.Contains("AADSTS70008", described.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServerErrorWithOldTokenStillValid_ReturnsOldToken()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _endpoint.Respond = (_, _) => new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StringContent("oops") };

        var outcome = await GetAsync(NewService());

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_ServerErrorWithoutValidToken_FailedWithReason()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _endpoint.Respond = (_, _) => new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StringContent("oops") };
        var service = NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Null(outcome.AccessToken);
        Assert.Contains("500", outcome.Message, StringComparison.Ordinal);

        // A passing failure is retried on the next call, not remembered like invalid_grant.
        _endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"access-{n}", "refresh-2");
        Assert.Equal("access-2", (await GetAsync(service)).AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_TimeoutWithOldTokenStillValid_ReturnsOldToken()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(3));
        _endpoint.Respond = (_, _) => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException());

        var outcome = await GetAsync(NewService());

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("old-access", outcome.AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_TimeoutWithoutValidToken_FailedWithReason()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _endpoint.Respond = (_, _) => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException());

        var outcome = await GetAsync(NewService());

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("30 seconds", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_UnreachableEndpoint_FailedWithReason()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        _endpoint.Respond = (_, _) => throw new HttpRequestException("Connection refused (login.example.test:443)");

        var outcome = await GetAsync(NewService());

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("Connection refused", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NoStoredTokens_SignInRequiredWithoutRequest()
    {
        var outcome = await GetAsync(NewService());

        Assert.Equal(TokenOutcomeKind.SignInRequired, outcome.Kind);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task Invalidate_CurrentToken_NextCallRefreshes()
    {
        await SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        service.Invalidate(_account, "old-access");
        var outcome = await GetAsync(service);

        Assert.Equal("access-1", outcome.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task Invalidate_StaleToken_DoesNothing()
    {
        await SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = NewService();
        Assert.Equal("old-access", (await GetAsync(service)).AccessToken);

        service.Invalidate(_account, "an-older-access-token");
        var outcome = await GetAsync(service);

        Assert.Equal("old-access", outcome.AccessToken);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AfterRestart_UsesSavedTokensWithoutRequest()
    {
        await SeedAsync("old-access", TimeSpan.FromMinutes(-1));
        Assert.Equal("access-1", (await GetAsync(NewService())).AccessToken);

        var restarted = NewService();
        var outcome = await GetAsync(restarted);

        Assert.Equal("access-1", outcome.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AccountNameInOtherCase_SharesState()
    {
        await SeedAsync("old-access", TimeSpan.FromHours(1));
        var service = NewService();

        var outcome = await service.GetAccessTokenAsync(TestAccounts.Create("SALES@EXAMPLE.COM"), CancellationToken.None).Guarded();

        Assert.Equal("old-access", outcome.AccessToken);
    }

    [Fact]
    public void TokenOutcome_ToString_ShowsNoToken()
    {
        Assert.DoesNotContain("secret-access", TokenOutcome.Token("secret-access").ToString(), StringComparison.Ordinal);
    }
}
