using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// Issue 17 item 4 against the real Dovecot: two shared mailboxes (<c>token_from</c>) on one delegate's sign-in, each
/// logged in upstream as its own <c>user=</c> with the delegate's token (Dovecot's check: <see cref="DelegatingDovecotFixture"/>).
/// </summary>
public sealed class DovecotSharedMailboxTests(DelegatingDovecotFixture fixture) : IClassFixture<DelegatingDovecotFixture>
{
    private const string SharedAccounts = """

        [account sales@example.com]
        token_from = user@example.com
        server = fake

        [account info]
        username = info@example.com
        token_from = user@example.com
        server = fake

        [account other@elsewhere.example]
        token_from = user@example.com
        server = fake

        """;

    [Fact]
    public async Task Login_TwoSharedMailboxesOnOneDelegateSignIn_DovecotLogsEachInAsItsOwnUser()
    {
        var dovecot = fixture.Dovecot;
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: false, append: SharedAccounts);
        var mark = dovecot.LogMark();

        foreach (var (login, mailbox) in new[] { ("sales@example.com", "sales@example.com"), ("info", "info@example.com") })
        {
            using var client = new ImapClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds };
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(login, "any-password");
            await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
            await client.DisconnectAsync(quit: true);
            var line = await dovecot.WaitForLogAsync(mark, l => l.Contains($"imap-login: Info: Login: user=<{mailbox}>", StringComparison.Ordinal));
            Assert.Contains("method=XOAUTH2", line, StringComparison.Ordinal);
        }

        // One sign-in (the delegate's) served both; the shared mailboxes have no token file of their own.
        Assert.Single(env.Identity.AuthorizeRequests);
        Assert.Equal(["user@example.com.json"], Directory.GetFiles(env.TokenDirectory, "*.json").Select(Path.GetFileName));
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    [Fact]
    public async Task Login_SharedMailboxTheDelegateMayNotOpen_RefusedWithTheFullAccessCmdlet()
    {
        var dovecot = fixture.Dovecot;
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: false, append: SharedAccounts);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync("a1 LOGIN other@elsewhere.example any-password\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));

        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Account other@elsewhere.example:", answer, StringComparison.Ordinal);
        Assert.Contains("with the sign-in of account user@example.com", answer, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity other@elsewhere.example", answer, StringComparison.Ordinal);
        Assert.Contains("-AccessRights FullAccess", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_SharedMailboxBeforeTheDelegateSignedIn_PointsAtTheDelegatesSignIn()
    {
        var dovecot = fixture.Dovecot;
        await using var env = await TestEnvironment.CreateAsync();
        dovecot.Introspection.Use(env.Identity);
        env.WriteConfig(SharedAccounts);
        await env.StartProxyAsync();

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync("a1 LOGIN sales@example.com any-password\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));

        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Account sales@example.com uses the sign-in of account user@example.com (token_from).", answer, StringComparison.Ordinal);
        Assert.Contains($"{env.RedirectUri}/accounts/user%40example.com/signin", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("accounts/sales", answer, StringComparison.Ordinal);
    }
}
