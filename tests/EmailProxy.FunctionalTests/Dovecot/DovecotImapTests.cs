using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// IMAP through the real emailproxy to the real Dovecot, which judges the proxy's XOAUTH2 with its oauth2 passdb
/// (introspection at the test identity server); mail is compared byte for byte with Dovecot's maildir.
/// </summary>
public sealed class DovecotImapTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task Login_ImplicitTlsUpstream_DovecotAcceptsTheProxysXOAuth2()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: false);
        var mark = dovecot.LogMark();

        using var client = NewClient(env);
        await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestEnvironment.Account, Password);
        // Dovecot's post-login capabilities, which Exchange (and the fake) do not have, reached the client.
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.QuickResync), "the client's OK carries Dovecot's capabilities");
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Notify));
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        await client.DisconnectAsync(quit: true);

        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
        Assert.Contains("TLS", login, StringComparison.Ordinal);
        Assert.Equal(1, env.Identity.IntrospectionRequests);
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    [Fact]
    public async Task Fetch_MultiMegabyte8BitMessageOverStartTls_ByteExactAsTheMaildirFile()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var folderName = "Fetch-" + Guid.NewGuid().ToString("N")[..8];
        var message = DovecotMessages.Large(5 * 1024 * 1024, folderName);
        dovecot.Deliver(folderName, message);
        await dovecot.StartSignedInProxyAsync(env, startTls: true);
        var mark = dovecot.LogMark();

        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            var folder = await client.GetFolderAsync(folderName);
            await folder.OpenAsync(FolderAccess.ReadOnly);
            Assert.Equal(1, folder.Count);
            using (var stream = await folder.GetStreamAsync(0, ""))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                Assert.Equal(message.Length, copy.Length);
                Assert.True(message.AsSpan().SequenceEqual(copy.ToArray()), "the message arrives byte for byte");
            }
            await client.DisconnectAsync(quit: true);
        }

        var stored = await File.ReadAllBytesAsync(Assert.Single(dovecot.MessageFiles(folderName)));
        Assert.True(message.AsSpan().SequenceEqual(stored), "Dovecot served its maildir file unchanged");
        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
        Assert.Contains("TLS", login, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Append_8BitMessageWithDotLines_LandsInTheMaildirByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var folderName = "Append-" + Guid.NewGuid().ToString("N")[..8];
        var bytes = DovecotMessages.Large(1024 * 1024, folderName, seed: 7);
        await dovecot.StartSignedInProxyAsync(env, startTls: false);

        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            var folder = await root.CreateAsync(folderName, isMessageFolder: true);
            Assert.NotNull(folder);
            using var message = MimeMessage.Load(new MemoryStream(bytes));
            var uid = await folder.AppendAsync(new AppendRequest(message, MessageFlags.Seen));
            Assert.NotNull(uid);
            await client.DisconnectAsync(quit: true);
        }

        var file = Assert.Single(dovecot.MessageFiles(folderName));
        var stored = await File.ReadAllBytesAsync(file);
        Assert.Equal(bytes.Length, stored.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(stored), "the appended message is stored byte for byte");
    }

    [Fact]
    public async Task Login_TokenExpiredAtTheProvider_DovecotRefusesProxyRefreshesAndRetriesOnce()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: true);
        // The proxy still thinks its token good for an hour; the provider (and so Dovecot) no longer does.
        env.Identity.ExpireAllAccessTokens();
        var mark = dovecot.LogMark();

        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
            await client.DisconnectAsync(quit: true);
        }

        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        Assert.Equal(2, env.Identity.IntrospectionRequests);
        await dovecot.WaitForLogAsync(mark, l => l.Contains("oauth2 failed", StringComparison.Ordinal) && l.Contains("Provided token is not valid", StringComparison.Ordinal));
        await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>, method=XOAUTH2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_DovecotRefusesEveryToken_JsonChallengeAnsweredAndClientSeesOneNo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: false);
        dovecot.Introspection.RefuseAll = true;
        var before = dovecot.Introspection.Requests;

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} {Password}\r\n");
        // Dovecot answers each token with "+ <base64 JSON>" before its NO: none of that reaches the client.
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Account user@example.com: fake refused the OAuth2 token for user@example.com:", answer, StringComparison.Ordinal);
        Assert.Contains("Authentication failed.", answer, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"401\"", answer, StringComparison.Ordinal);
        Assert.Equal(2, dovecot.Introspection.Requests - before);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);

        // The session goes on: the client may try again.
        await client.WriteAsync("a2 NOOP\r\n");
        Assert.Equal("a2 OK NOOP completed", await client.ReadLineAsync());
    }

    private static ImapClient NewClient(TestEnvironment env) => new() { Timeout = (int)env.SafetyTimeout.TotalMilliseconds };
}
