using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// SMTP through the real emailproxy to Dovecot's submission service (STARTTLS, then AUTH XOAUTH2 in two steps, judged
/// by the oauth2 passdb), which relays to an in-test sink: what the client sent arrives there byte for byte.
/// </summary>
public sealed class DovecotSubmissionTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task Send_8BitMessageWithDotLines_ArrivesAtTheRelayByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var subject = "Submission " + Guid.NewGuid().ToString("N")[..8];
        var bytes = DovecotMessages.Large(2 * 1024 * 1024, subject, seed: 5);
        await dovecot.StartSignedInProxyAsync(env, startTls: true);
        var mark = dovecot.LogMark();

        using (var client = new SmtpClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await client.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EightBitMime));
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            using var message = MimeMessage.Load(new MemoryStream(bytes));
            await client.SendAsync(message);
            await client.DisconnectAsync(quit: true);
        }

        // Dovecot puts its own Received: trace header in front and relays the rest unchanged.
        var relayed = Assert.Single(dovecot.Sink.Messages, m => Encoding.Latin1.GetString(m.Data).Contains(subject, StringComparison.Ordinal));
        Assert.StartsWith("MAIL FROM:<user@example.com>", relayed.MailFrom, StringComparison.Ordinal);
        Assert.Equal(["RCPT TO:<customer@example.org>"], relayed.Recipients);
        Assert.True(relayed.Data.Length > bytes.Length, "a Received: header was added");
        var trace = Encoding.Latin1.GetString(relayed.Data, 0, relayed.Data.Length - bytes.Length);
        Assert.StartsWith("Received: from ", trace, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", trace, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\n\r\n", trace, StringComparison.Ordinal);
        Assert.True(bytes.AsSpan().SequenceEqual(relayed.Data.AsSpan(relayed.Data.Length - bytes.Length)), "the message arrives byte for byte after Dovecot's trace header");

        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("submission-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
        Assert.Contains("TLS", login, StringComparison.Ordinal);
        Assert.Equal(1, env.Identity.IntrospectionRequests);
        Assert.Empty(env.Smtp.Messages);
    }

    [Fact]
    public async Task Login_DovecotRefusesEveryToken_334JsonChallengeAnsweredAndClientSeesOne535()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: true);
        dovecot.Introspection.RefuseAll = true;
        var before = dovecot.Introspection.Requests;
        var relayedBefore = dovecot.Sink.Messages.Count;

        await using var client = await LineClient.ConnectAsync(env.SmtpPort);
        Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("EHLO client.test\r\n");
        Assert.StartsWith("250", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"AUTH PLAIN {Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{TestEnvironment.Account}\0{Password}"))}\r\n");
        var answer = await client.ReadSmtpReplyAsync();
        Assert.StartsWith("535", answer, StringComparison.Ordinal);
        Assert.Contains("fake refused the OAuth2 token for user@example.com", answer, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"401\"", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("334", answer.Split('\n').Select(l => l[..3]));
        Assert.Equal(2, dovecot.Introspection.Requests - before);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);

        await client.WriteAsync("MAIL FROM:<user@example.com>\r\n");
        Assert.StartsWith("530", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.Equal(relayedBefore, dovecot.Sink.Messages.Count);
    }
}
