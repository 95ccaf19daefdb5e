using System.Security.Cryptography;
using EmailProxy.Cli;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Cli;

/// <summary><c>emailproxy tokens list</c> for shared mailboxes (token_from) and accounts made from templates.</summary>
public sealed class TokenReportAccountsTests : IDisposable
{
    private const string Config = """
        [general]
        redirect_uri = http://127.0.0.1:18089
        token_dir    = tokens
        secret_file  = emailproxy.key

        [server outlook.office365.com]
        imap_host = outlook.office365.com

        [account me@example.com]
        client_id = 00000000-1111-2222-3333-444444444444

        [account info@example.com]
        token_from = me@example.com

        [account *@example.org]
        client_id = 00000000-1111-2222-3333-444444444444
        """;

    private static readonly DateTimeOffset Now = new(2026, 12, 6, 8, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ReadAsync_SharedMailboxAndTemplateAccountFromItsTokenFile_SaysWhoseSignInAndWhichTemplate()
    {
        var config = ConfigReader.ReadFile(_temp.WriteFile("emailproxy.config", Config)).Config!;
        _temp.WriteFile("emailproxy.key", Convert.ToBase64String(_key) + "\n");
        var store = new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(_key), new FakeTimeProvider(Now), NullLogger<TokenFileStore>.Instance);
        var alice = new ProxyConfig(config.ConfigPath, config.General, config.Servers, config.Accounts) { Templates = config.Templates }
            .ResolveAccount("alice@example.org", Now).Account!;
        await store.SaveAsync(alice, new StoredTokens("a", Now.AddHours(1), "r", Now, "alice@example.org", "hash"), CancellationToken.None);

        // As the command does: the accounts templates made are found from the token files.
        config.Created.Restore(config, TokenFileStore.StoredAccountNames(config.TokenDirectory), Now);
        var statuses = await TokenReport.ReadAsync(config, config.AllAccounts, null, Now, CancellationToken.None);

        Assert.Equal(["alice@example.org", "info@example.com", "me@example.com"], statuses.Select(s => s.Account).Order(StringComparer.Ordinal));
        var info = statuses.Single(s => s.Account == "info@example.com");
        Assert.Equal(TokenReport.UsesSignInOf, info.State);
        Assert.Equal("me@example.com", info.UsesSignInOf);
        var made = statuses.Single(s => s.Account == "alice@example.org");
        Assert.Equal(TokenReport.SignedIn, made.State);
        Assert.Equal("*@example.org", made.Template);
        var text = TokenReport.Describe(statuses, Now);
        Assert.Contains("uses the sign-in of me@example.com (token_from)", text, StringComparison.Ordinal);
        Assert.Contains("from template:  [account *@example.org]", text, StringComparison.Ordinal);
    }
}
