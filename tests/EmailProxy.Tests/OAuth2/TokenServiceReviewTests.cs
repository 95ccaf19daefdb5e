using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

/// <summary>Bugs found in review: a file without secrets, and a refresh overtaken by a sign-in.</summary>
public sealed class TokenServiceReviewTests : IDisposable
{
    private static readonly MasterKey Key = MasterKey.FromBytes(new byte[32]);

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _http;
    private readonly AccountOptions _account = TestAccounts.Create();

    public TokenServiceReviewTests() => _http = new HttpClient(_endpoint) { Timeout = OAuthClient.RequestTimeout };

    public void Dispose()
    {
        _endpoint.Hold?.TrySetResult();
        _http.Dispose();
        _temp.Dispose();
    }

    private TokenFileStore NewStore() => new(_temp.Combine("tokens"), Key, _time, NullLogger<TokenFileStore>.Instance);

    private TokenService NewService() => new(new OAuthClient(_http, _time), NewStore(), _time, NullLogger<TokenService>.Instance);

    [Fact]
    public async Task GetAccessTokenAsync_FileWithNullSecrets_SignInNeededAndASignInMendsIt()
    {
        var store = NewStore();
        await store.SaveAsync(_account, new StoredTokens("a", _time.GetUtcNow().AddHours(1), "r", null), CancellationToken.None);
        var path = store.PathFor(_account.Name);
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("\"secrets\": \"", "\"secrets\": null, \"x\": \"", StringComparison.Ordinal));
        var service = NewService();

        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded()).Kind);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded()).Kind);

        await service.AcceptSignInAsync(_account, new TokenEndpointResult { AccessToken = "new", RefreshToken = "new-r", ExpiresAt = _time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        Assert.Equal("new", (await service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Single(Directory.GetFiles(_temp.Combine("tokens"), "*.damaged-*"));
    }

    [Fact]
    public async Task RefreshOvertakenBySignIn_StaleInvalidGrant_DoesNotUndoTheSignIn()
    {
        await NewStore().SaveAsync(_account, new StoredTokens("old", _time.GetUtcNow().AddMinutes(1), "old-refresh", null), CancellationToken.None);
        var service = NewService();
        _endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();

        var refresh = service.GetAccessTokenAsync(_account, CancellationToken.None);
        await _endpoint.FirstRequest.Task.Guarded();
        await service.AcceptSignInAsync(_account, new TokenEndpointResult { AccessToken = "signed-in", RefreshToken = "signed-in-refresh", ExpiresAt = _time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        _endpoint.Hold.SetResult();
        await refresh.Guarded();

        var after = await service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded();
        Assert.Equal(TokenOutcomeKind.Token, after.Kind);
        Assert.Equal("signed-in", after.AccessToken);
        Assert.Equal("signed-in-refresh", (await NewStore().LoadAsync(_account, CancellationToken.None))!.RefreshToken);
    }

    [Fact]
    public async Task RefreshOvertakenBySignIn_StaleSuccess_DoesNotOverwriteTheNewerTokens()
    {
        await NewStore().SaveAsync(_account, new StoredTokens("old", _time.GetUtcNow().AddMinutes(1), "old-refresh", null), CancellationToken.None);
        var service = NewService();
        _endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Token("from-stale-refresh", "stale-rotated");

        var refresh = service.GetAccessTokenAsync(_account, CancellationToken.None);
        await _endpoint.FirstRequest.Task.Guarded();
        await service.AcceptSignInAsync(_account, new TokenEndpointResult { AccessToken = "signed-in", RefreshToken = "signed-in-refresh", ExpiresAt = _time.GetUtcNow().AddHours(1) }, CancellationToken.None).Guarded();
        _endpoint.Hold.SetResult();
        await refresh.Guarded();

        Assert.Equal("signed-in", (await service.GetAccessTokenAsync(_account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal("signed-in-refresh", (await NewStore().LoadAsync(_account, CancellationToken.None))!.RefreshToken);
    }
}
