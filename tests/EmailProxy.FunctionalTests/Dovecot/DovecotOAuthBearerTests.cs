using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// <c>provider = generic</c> whose endpoints come from its issuer's discovery document (the test identity server's
/// <c>{issuer}/.well-known/openid-configuration</c>; the file names no endpoint), logging in upstream with RFC 7628
/// OAUTHBEARER (<c>sasl = oauthbearer</c>), which the real Dovecot's oauth2 passdb judges: IMAP, POP3 and submission.
/// </summary>
public sealed class DovecotOAuthBearerTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Password = "any-Pa55word";

    private static Func<string, string> GenericByDiscovery(TestEnvironment env) => text =>
    {
        var written = text.Replace($"tenant = {env.Identity.Tenant}\nauthority = {env.Identity.Authority}\n",
            $"provider = generic\nissuer = {env.Identity.Issuer}\nsasl = oauthbearer\n", StringComparison.Ordinal);
        Assert.NotEqual(text, written);
        return written;
    };

    [Fact]
    public async Task Login_GenericProviderFoundByDiscovery_DovecotAcceptsOAuthBearerOnImapPopAndSubmission()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var subject = "OAUTHBEARER " + Guid.NewGuid().ToString("N")[..8];
        await dovecot.StartSignedInProxyAsync(env, startTls: false, transform: GenericByDiscovery(env));
        var mark = dovecot.LogMark();

        // The sign-in went to the endpoints the document named (the file has none).
        Assert.True(env.Identity.DiscoveryRequests >= 1, "the discovery document was read");
        Assert.Single(env.Identity.AuthorizeRequests);

        using (var imap = new ImapClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await imap.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await imap.AuthenticateAsync(TestEnvironment.Account, Password);
            await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
            await imap.DisconnectAsync(quit: true);
        }
        var imapLogin = await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=OAUTHBEARER", imapLogin, StringComparison.Ordinal);

        using (var pop = new Pop3Client { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await pop.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
            await pop.AuthenticateAsync(TestEnvironment.Account, Password);
            await pop.DisconnectAsync(quit: true);
        }
        var popLogin = await dovecot.WaitForLogAsync(mark, l => l.Contains("pop3-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=OAUTHBEARER", popLogin, StringComparison.Ordinal);

        using (var smtp = new SmtpClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await smtp.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            await smtp.AuthenticateAsync(TestEnvironment.Account, Password);
            var message = new MimeMessage { Subject = subject };
            message.From.Add(MailboxAddress.Parse(TestEnvironment.Account));
            message.To.Add(MailboxAddress.Parse("customer@example.org"));
            message.Body = new TextPart("plain") { Text = "Submitted with OAUTHBEARER.\r\n" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }
        var submissionLogin = await dovecot.WaitForLogAsync(mark, l => l.Contains("submission-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=OAUTHBEARER", submissionLogin, StringComparison.Ordinal);
        Assert.Single(dovecot.Sink.Messages, m => Encoding.Latin1.GetString(m.Data).Contains(subject, StringComparison.Ordinal));
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    [Fact]
    public async Task Login_IssuersDocumentMissing_ClientToldWhatToFixAndNothingStored()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DiscoveryMissing = true;
        Introspect(env);
        env.WriteConfig(transform: GenericByDiscovery(env));
        await env.StartProxyAsync();

        using var imap = new ImapClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds };
        await imap.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(TestEnvironment.Account, Password));

        Assert.Contains($"the discovery document {env.Identity.Issuer}/.well-known/openid-configuration does not exist (HTTP 404)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("the next login tries again", refused.Message, StringComparison.Ordinal);
        Assert.Empty(env.Identity.AuthorizeRequests);
        Assert.False(Directory.Exists(env.TokenDirectory) && Directory.EnumerateFiles(env.TokenDirectory, "*.json").Any(), "no token file was written");
    }

    private void Introspect(TestEnvironment env)
    {
        dovecot.Introspection.RefuseAll = false;
        dovecot.Introspection.Use(env.Identity);
    }
}
