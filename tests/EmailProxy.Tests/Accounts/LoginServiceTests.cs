using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Accounts;

public sealed class LoginServiceTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task LoginAsync_Pop3WithoutPopHost_NamesThePopHostKey()
    {
        var server = new ServerOptions("outlook.office365.com") { ImapHost = "outlook.office365.com", SmtpHost = "smtp.office365.com" };
        var logins = Logins(server);

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", "any", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.Unavailable, outcome.Failure);
        Assert.Contains("has no pop_host", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pop3_host", outcome.Message, StringComparison.Ordinal);
    }

    private LoginService Logins(ServerOptions server)
    {
        var account = TestAccounts.Create();
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase) { [server.Name] = server },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [account.Name] = account });
        var time = TimeProvider.System;
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance), time, NullLogger<TokenService>.Instance);
        return new LoginService(config, new PasswordVerifier(), tokens, new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
    }

    public void Dispose() => _temp.Dispose();
}
