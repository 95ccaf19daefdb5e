using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

/// <summary>
/// What every OAuth2 unit test stands on, one per test: a temporary token folder, a fake clock, a
/// stub token endpoint behind an <see cref="HttpClient"/> and an <see cref="OAuthClient"/>, one
/// account, and fresh token stores and services over them (a new one is a restart).
/// </summary>
internal sealed class OAuth2Fixture : IDisposable
{
    public static readonly MasterKey Key = MasterKey.FromBytes(new byte[32]);

    public OAuth2Fixture()
    {
        Http = new HttpClient(Endpoint) { Timeout = OAuthClient.RequestTimeout };
        Client = new OAuthClient(Http, Time);
    }

    public TempDirectory Temp { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public StubTokenEndpoint Endpoint { get; } = new();

    public HttpClient Http { get; }

    public OAuthClient Client { get; }

    public AccountOptions Account { get; } = TestAccounts.Create();

    public string TokenDirectory => Temp.Combine("tokens");

    /// <summary>A configuration with <see cref="Account"/> as its only account.</summary>
    public ProxyConfig Config => ConfigWith([Account]);

    /// <summary>A configuration with these accounts and the one server they name.</summary>
    public ProxyConfig ConfigWith(IEnumerable<AccountOptions> accounts) => new(
        Temp.Combine("emailproxy.config"),
        new GeneralOptions(),
        new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase)
        {
            [Account.ServerName] = new(Account.ServerName) { ImapHost = Account.ServerName },
        },
        accounts.ToDictionary(account => account.Name, StringComparer.OrdinalIgnoreCase));

    public TokenFileStore NewStore() => new(TokenDirectory, Key, Time, NullLogger<TokenFileStore>.Instance);

    public TokenService NewService() => new(Client, NewStore(), Time, NullLogger<TokenService>.Instance);

    /// <summary>Saves tokens for <see cref="Account"/> as a previous run would have left them.</summary>
    public Task SeedAsync(string accessToken, TimeSpan lifeLeft, string refreshToken = "old-refresh", bool rotatedNow = true) =>
        NewStore().SaveAsync(
            Account,
            new StoredTokens(accessToken, Time.GetUtcNow() + lifeLeft, refreshToken, rotatedNow ? Time.GetUtcNow() : null),
            CancellationToken.None);

    public void Dispose()
    {
        Endpoint.Hold?.TrySetResult();
        Http.Dispose();
        Temp.Dispose();
    }
}
