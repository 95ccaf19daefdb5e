using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.Accounts;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Redis;

/// <summary>The login of an account made from a template while the shared store cannot be read: no first sign-in.</summary>
public sealed class SharedTemplateLoginTests : IAsyncLifetime
{
    private SharedTokensFixture _shared = null!;

    public async Task InitializeAsync() => _shared = await SharedTokensFixture.StartAsync();

    public async Task DisposeAsync() => await _shared.DisposeAsync();

    [Fact]
    public async Task LoginAsync_TemplateAccountWhoseTokensCannotBeRead_TemporaryFailureNamingRedisNotAFirstSignIn()
    {
        var replica = await _shared.NewReplicaAsync();
        var server = new ServerOptions("outlook.office365.com") { ImapHost = "outlook.office365.com" };
        var config = new ProxyConfig(_shared.Fx.Temp.Combine("emailproxy.config"), new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase) { [server.Name] = server },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase))
        {
            Templates = [new AccountTemplate("*@example.org", TestAccounts.Create("*@example.org"), 5)],
        };
        var derivation = new BlockingKeyDerivation(blocks: false);
        var logins = new LoginService(new LiveConfig(config), new PasswordVerifier(derivation, new KeyDerivationPool()), new LoginThrottle(new TimerWatchingTimeProvider()),
            replica.Tokens, new SignInManager(config, _shared.Fx.Client, replica.Tokens, TimeProvider.System, NullLogger<SignInManager>.Instance));
        await _shared.Redis.KillAsync();

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "alice@example.org", BlockingKeyDerivation.RightPassword, null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.TokenUnavailable, outcome.Failure);
        Assert.Contains($"Redis at 127.0.0.1:{_shared.Redis.Port}", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sign-in", outcome.Message, StringComparison.Ordinal);
    }
}
