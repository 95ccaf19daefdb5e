using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.TokenStore;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary>The background refresh: tokens refreshed before a login needs them, on a fake clock.</summary>
public sealed class TokenRefreshWorkerTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();
    private readonly TokenService _tokens;
    private readonly TokenRefreshWorker _worker;

    public TokenRefreshWorkerTests()
    {
        _tokens = _fx.NewService();
        _worker = new TokenRefreshWorker(new LiveConfig(_fx.Config), _tokens, _fx.Time, NullLogger<TokenRefreshWorker>.Instance);
    }

    [Fact]
    public async Task RunOnceAsync_TokenWithAnHourLeft_NoRequest()
    {
        await SeedAsync(TimeSpan.FromHours(1));
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_TokenThatWouldExpireBeforeTheNextRound_RefreshedAndSaved()
    {
        await SeedAsync(TimeSpan.FromMinutes(9));
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();

        Assert.Equal(1, _fx.Endpoint.RequestCount);
        Assert.Equal("refresh-1", (await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None))!.RefreshToken);
        var login = await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.Equal("access-1", login.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_DeviceCodeAccountDue_RefreshedLikeABrowserOne()
    {
        // A device-code sign-in leaves a refresh token as a browser one does: it is kept fresh the same way.
        var device = _fx.Account with { Flow = OAuthFlow.DeviceCode };
        await _fx.NewStore().SaveAsync(device, new StoredTokens("old-access", _fx.Time.GetUtcNow() + TimeSpan.FromMinutes(9), "old-refresh", null), CancellationToken.None);
        using var worker = new TokenRefreshWorker(new LiveConfig(_fx.ConfigWith([device])), _tokens, _fx.Time, NullLogger<TokenRefreshWorker>.Instance);

        await worker.RunOnceAsync(CancellationToken.None).Guarded();

        Assert.Equal(1, _fx.Endpoint.RequestCount);
        Assert.Equal("refresh-1", (await _fx.NewStore().LoadAsync(device, CancellationToken.None))!.RefreshToken);
    }

    [Fact]
    public async Task RunOnceAsync_AccountNeverSignedIn_NoRequest()
    {
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_RefreshTokenRefused_NoMoreRequestsUntilASignIn()
    {
        await SeedAsync(TimeSpan.FromMinutes(1));
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task ExecuteAsync_Rounds_RefreshWhenTheTokenComesWithinReach()
    {
        await SeedAsync(TimeSpan.FromMinutes(20));
        await _worker.StartAsync(CancellationToken.None);
        try
        {
            // 20 minutes left at start, 15 after one round: not yet; 10 after two: refreshed.
            _fx.Time.Advance(TokenRefreshWorker.Interval);
            Assert.Equal(0, _fx.Endpoint.RequestCount);
            _fx.Time.Advance(TokenRefreshWorker.Interval);
            await _fx.Endpoint.FirstRequest.Task.Guarded();
            Assert.Equal(1, _fx.Endpoint.RequestCount);
        }
        finally
        {
            await _worker.StopAsync(CancellationToken.None);
        }
    }

    public void Dispose()
    {
        _worker.Dispose();
        _fx.Dispose();
    }

    private Task SeedAsync(TimeSpan left) => _fx.SeedAsync("old-access", left, rotatedNow: false);
}
