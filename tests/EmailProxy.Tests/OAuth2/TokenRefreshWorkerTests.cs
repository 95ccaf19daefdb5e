using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

/// <summary>The background refresh: tokens refreshed before a login needs them, on a fake clock.</summary>
public sealed class TokenRefreshWorkerTests : IDisposable
{
    private static readonly MasterKey Key = MasterKey.FromBytes(new byte[32]);

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _http;
    private readonly AccountOptions _account = TestAccounts.Create();
    private readonly TokenService _tokens;
    private readonly TokenRefreshWorker _worker;

    public TokenRefreshWorkerTests()
    {
        _http = new HttpClient(_endpoint);
        _endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"access-{n}", $"refresh-{n}");
        _tokens = new TokenService(new OAuthClient(_http, _time), Store(), _time, NullLogger<TokenService>.Instance);
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(), new Dictionary<string, ServerOptions>(),
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [_account.Name] = _account });
        _worker = new TokenRefreshWorker(config, _tokens, _time, NullLogger<TokenRefreshWorker>.Instance);
    }

    [Fact]
    public async Task RunOnceAsync_TokenWithAnHourLeft_NoRequest()
    {
        await SeedAsync(TimeSpan.FromHours(1));
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_TokenThatWouldExpireBeforeTheNextRound_RefreshedAndSaved()
    {
        await SeedAsync(TimeSpan.FromMinutes(9));
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();

        Assert.Equal(1, _endpoint.RequestCount);
        Assert.Equal("refresh-1", (await Store().LoadAsync(_account, CancellationToken.None))!.RefreshToken);
        var login = await _tokens.GetAccessTokenAsync(_account, CancellationToken.None).Guarded();
        Assert.Equal("access-1", login.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_AccountNeverSignedIn_NoRequest()
    {
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_RefreshTokenRefused_NoMoreRequestsUntilASignIn()
    {
        await SeedAsync(TimeSpan.FromMinutes(1));
        _endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        await _worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task ExecuteAsync_Rounds_RefreshWhenTheTokenComesWithinReach()
    {
        await SeedAsync(TimeSpan.FromMinutes(20));
        await _worker.StartAsync(CancellationToken.None);
        try
        {
            // 20 minutes left at start, 15 after one round: not yet; 10 after two: refreshed.
            _time.Advance(TokenRefreshWorker.Interval);
            Assert.Equal(0, _endpoint.RequestCount);
            _time.Advance(TokenRefreshWorker.Interval);
            await _endpoint.FirstRequest.Task.Guarded();
            Assert.Equal(1, _endpoint.RequestCount);
        }
        finally
        {
            await _worker.StopAsync(CancellationToken.None);
        }
    }

    public void Dispose()
    {
        _worker.Dispose();
        _http.Dispose();
        _temp.Dispose();
    }

    private TokenFileStore Store() => new(_temp.Combine("tokens"), Key, _time, NullLogger<TokenFileStore>.Instance);

    private Task SeedAsync(TimeSpan left) =>
        Store().SaveAsync(_account, new StoredTokens("old-access", _time.GetUtcNow() + left, "old-refresh", null), CancellationToken.None);
}
