using System.Diagnostics;
using System.Text;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Smtp;

/// <summary>
/// SMTP through the real emailproxy to an Exchange-like server that takes only XOAUTH2 after
/// STARTTLS, from clients that only know AUTH LOGIN / AUTH PLAIN.
/// </summary>
public sealed class SmtpProxyTests
{
    private static readonly string User64 = B64(TestEnvironment.Account);
    private static readonly string Password64 = B64("any-password");

    [Theory]
    [InlineData("LOGIN")]
    [InlineData("PLAIN")]
    public async Task Send_MailKitWithOneMechanism_TwoTransactionsArriveThroughStartTlsAndXOAuth2(string mechanism)
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EightBitMime));
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
            client.AuthenticationMechanisms.RemoveWhere(m => m != mechanism);
            await client.AuthenticateAsync(TestEnvironment.Account, "any-password");
            await client.SendAsync(Message("First ünïcödé message", "Grüße aus dem Proxy.\r\n.a line that starts with a dot\r\n"));
            await client.SendAsync(Message("Second message", "Second body.\r\n"));
            await client.DisconnectAsync(quit: true);
        }

        Assert.Equal(2, env.Smtp.Messages.Count);
        var first = MimeMessage.Load(new MemoryStream(env.Smtp.Messages[0].Data));
        Assert.Equal("First ünïcödé message", first.Subject);
        Assert.Equal("Grüße aus dem Proxy.\r\n.a line that starts with a dot\r\n", first.TextBody!.ReplaceLineEndings("\r\n"));
        Assert.Equal("Second message", MimeMessage.Load(new MemoryStream(env.Smtp.Messages[1].Data)).Subject);

        var commands = env.Smtp.Commands.Lines.ToList();
        Assert.True(commands.IndexOf("STARTTLS") < commands.IndexOf("AUTH XOAUTH2"), "XOAUTH2 only after STARTTLS");
        Assert.Equal(1, env.Smtp.AuthenticationAttempts);
    }

    [Fact]
    public async Task Send_CurlAuthLogin_LargeAttachmentDotLineAnd8BitArriveByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var message = MessageWithAttachment(20 * 1024 * 1024);
        var file = Path.Combine(env.Directory, "message.eml");
        await File.WriteAllBytesAsync(file, message);
        var (exitCode, output) = await RunAsync("curl", "-sS", "--url", $"smtp://127.0.0.1:{env.SmtpPort}",
            "--mail-from", TestEnvironment.Account, "--mail-rcpt", "customer@example.org",
            "--user", $"{TestEnvironment.Account}:any-password", "--login-options", "AUTH=LOGIN",
            "--upload-file", file);
        Assert.True(exitCode == 0, output);

        var received = Assert.Single(env.Smtp.Messages);
        Assert.Equal(message.Length, received.Data.Length);
        Assert.True(message.AsSpan().SequenceEqual(received.Data), "the message arrives byte for byte");
    }

    [Fact]
    public async Task Send_EspoCrmSymfonyMailerTranscript_IsRelayed()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // EspoCRM with security None against the default local_tls = auto: the proxy offers no STARTTLS.
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        // What Symfony Mailer (EspoCRM 9.1+) sends: EHLO, STARTTLS only if offered (it is not on a
        // plaintext port), AUTH LOGIN, one transaction, QUIT.
        await using var client = await LineClient.ConnectAsync(env.SmtpPort);
        Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("EHLO [127.0.0.1]\r\n");
        var ehlo = await client.ReadSmtpReplyAsync();
        Assert.Contains("250 AUTH PLAIN LOGIN", ehlo, StringComparison.Ordinal);
        Assert.DoesNotContain("STARTTLS", ehlo, StringComparison.Ordinal);
        await client.WriteAsync("AUTH LOGIN\r\n");
        Assert.Equal("334 VXNlcm5hbWU6", await client.ReadSmtpReplyAsync());
        await client.WriteAsync(User64 + "\r\n");
        Assert.Equal("334 UGFzc3dvcmQ6", await client.ReadSmtpReplyAsync());
        await client.WriteAsync(Password64 + "\r\n");
        Assert.Equal("235 2.7.0 Authentication successful", await client.ReadSmtpReplyAsync());
        await client.WriteAsync($"MAIL FROM:<{TestEnvironment.Account}>\r\n");
        Assert.StartsWith("250 2.1.0", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("RCPT TO:<lead@example.org>\r\n");
        Assert.StartsWith("250 2.1.5", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("DATA\r\n");
        Assert.StartsWith("354", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("Subject: From EspoCRM\r\n\r\nHello lead.\r\n..stuffed dot\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 OK", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("QUIT\r\n");
        Assert.StartsWith("221", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);

        var received = Assert.Single(env.Smtp.Messages);
        Assert.Equal("Subject: From EspoCRM\r\n\r\nHello lead.\r\n.stuffed dot\r\n", Encoding.UTF8.GetString(received.Data));
    }

    [Fact]
    public async Task Auth_UpstreamRejectsOnce_RefreshesAndRetries()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Smtp.RejectNextAuthentications(1);

        await using var client = await AuthLoginAsync(env);
        Assert.Equal("235 2.7.0 Authentication successful", await client.ReadSmtpReplyAsync());
        Assert.Equal(2, env.Smtp.AuthenticationAttempts);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
    }

    [Fact]
    public async Task Auth_UpstreamRejectsTwice_535WithTheUpstreamsWords()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Smtp.RejectNextAuthentications(2);

        await using var client = await AuthLoginAsync(env);
        var lines = await client.ReadSmtpReplyAsync();
        Assert.StartsWith("535 5.7.8 ", lines.Split('\n')[^1], StringComparison.Ordinal);
        var reply = Joined(lines);
        Assert.Contains("user@example.com", reply, StringComparison.Ordinal);
        Assert.Contains("535 5.7.3 Authentication unsuccessful", reply, StringComparison.Ordinal);
        Assert.Contains("SMTP.Send", reply, StringComparison.Ordinal);

        // The session goes on.
        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("250 2.0.0 OK", await client.ReadSmtpReplyAsync());
    }

    [Fact]
    public async Task Auth_SmtpAuthDisabledForTenant_HintNamesSetCasMailbox()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Smtp.FailureReply = FakeExchangeSmtpServer.SmtpAuthDisabledReply;
        env.Smtp.RejectNextAuthentications(2);

        await using var client = await AuthLoginAsync(env);
        var reply = Joined(await client.ReadSmtpReplyAsync());
        Assert.Contains("SmtpClientAuthentication is disabled", reply, StringComparison.Ordinal);
        Assert.Contains("Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_SignInNeeded_535NamingWhatToOpen()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();

        await using var client = await AuthLoginAsync(env);
        var reply = Joined(await client.ReadSmtpReplyAsync());
        Assert.StartsWith("535", reply, StringComparison.Ordinal);
        Assert.Contains("needs an OAuth2 sign-in with Microsoft", reply, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{env.HttpPort}/accounts/user%40example.com/signin", reply, StringComparison.Ordinal);
        // The sign-in was started, as for IMAP.
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in needed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auth_UpstreamUnreachable_454NamingHostAndPort()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var deadPort = TestEnvironment.GetFreePort();
        env.WriteConfig(transform: t => t.Replace($"smtp_port = {env.Smtp.Port}", $"smtp_port = {deadPort}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await AuthLoginAsync(env);
        var reply = await client.ReadSmtpReplyAsync();
        Assert.StartsWith("454 4.7.0 Account user@example.com:", reply, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{deadPort}", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_UpstreamCertificateNotTrusted_454SayingWhy()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace($"ca_file = {env.CaFile}", "", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await AuthLoginAsync(env);
        var reply = await client.ReadSmtpReplyAsync();
        Assert.StartsWith("454", reply, StringComparison.Ordinal);
        Assert.Contains("certificate does not verify", reply, StringComparison.Ordinal);
        Assert.Contains("ca_file", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_GmailStyleJsonChallenge_AnsweredByTheProxyAndOneClear535()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Smtp.GmailStyleChallenge = true;
        env.Smtp.RejectNextAuthentications(2);

        await using var client = await AuthLoginAsync(env);
        var reply = await client.ReadSmtpReplyAsync();
        Assert.All(reply.Split('\n'), line => Assert.StartsWith("535", line, StringComparison.Ordinal));
        Assert.Contains("Username and Password not accepted", reply, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"400\"", reply, StringComparison.Ordinal);
        Assert.Contains("(answer to the challenge: 0 characters)", env.Smtp.Commands.Lines);

        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("250 2.0.0 OK", await client.ReadSmtpReplyAsync());
    }

    [Fact]
    public async Task Commands_BeforeAuth_AnsweredByTheProxy()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // STARTTLS offered, so that the whole EHLO list is checked.
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = off\nsmtp_tls = starttls"));
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.SmtpPort);
        Assert.Matches("^220 .* Email OAuth2 Proxy ESMTP ready$", await client.ReadSmtpReplyAsync());

        async Task<string> SendAsync(string line)
        {
            await client.WriteAsync(line + "\r\n");
            return await client.ReadSmtpReplyAsync();
        }

        Assert.Equal("530 5.7.0 Authentication required", await SendAsync("MAIL FROM:<a@b.c>"));
        Assert.Equal("503 5.5.1 Send EHLO first", await SendAsync("AUTH LOGIN"));
        Assert.StartsWith("250 ", await SendAsync("HELO client"), StringComparison.Ordinal);
        var ehlo = (await SendAsync("EHLO client")).Split('\n');
        Assert.Equal(["250-STARTTLS", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250-SIZE 35882577", "250 AUTH PLAIN LOGIN"], ehlo[1..]);
        Assert.Equal("250 2.0.0 OK", await SendAsync("NOOP"));
        Assert.Equal("250 2.0.0 Reset", await SendAsync("RSET"));
        Assert.Equal("530 5.7.0 Authentication required", await SendAsync("RCPT TO:<a@b.c>"));
        Assert.Equal("500 5.5.2 Command not recognized", await SendAsync("FOO"));
        Assert.StartsWith("504 5.5.4", await SendAsync("AUTH CRAM-MD5"), StringComparison.Ordinal);
        Assert.Equal("334 ", await SendAsync("AUTH PLAIN"));
        Assert.Equal("501 5.7.0 Authentication cancelled", await SendAsync("*"));
        Assert.Equal("334 VXNlcm5hbWU6", await SendAsync("AUTH LOGIN"));
        Assert.Equal("501 5.7.0 Authentication cancelled", await SendAsync("*"));
        Assert.Equal("221 2.0.0 Bye", await SendAsync("QUIT"));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Limits_LineOver8KiB_421AndClosed()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.SmtpPort);
        await client.ReadSmtpReplyAsync();
        await client.WriteAsync("EHLO " + new string('x', 9000) + "\r\n");
        Assert.StartsWith("421 4.7.0 Line too long", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.True(await client.IsClosedByServerAsync());

        // Other sessions are unaffected.
        await using var other = await LineClient.ConnectAsync(env.SmtpPort);
        Assert.StartsWith("220 ", await other.ReadSmtpReplyAsync(), StringComparison.Ordinal);
    }

    private static async Task<LineClient> AuthLoginAsync(TestEnvironment env)
    {
        var client = await LineClient.ConnectAsync(env.SmtpPort);
        await client.ReadSmtpReplyAsync();
        await client.WriteAsync("EHLO test\r\n");
        await client.ReadSmtpReplyAsync();
        await client.WriteAsync($"AUTH LOGIN {User64}\r\n");
        Assert.Equal("334 UGFzc3dvcmQ6", await client.ReadSmtpReplyAsync());
        await client.WriteAsync(Password64 + "\r\n");
        return client;
    }

    private static MimeMessage Message(string subject, string text)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Sales", TestEnvironment.Account));
        message.To.Add(new MailboxAddress("Customer", "customer@example.org"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text };
        return message;
    }

    /// <summary>A multipart message with 8-bit text, a line starting with a dot, and a base64 attachment of the given size.</summary>
    private static byte[] MessageWithAttachment(int attachmentSize)
    {
        var random = new Random(7);
        var attachment = new byte[attachmentSize];
        random.NextBytes(attachment);
        var text = new StringBuilder();
        text.Append("From: Sales <user@example.com>\r\nTo: customer@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n");
        text.Append("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
        text.Append("--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        text.Append("Grüße, ½ € ☃ — 8-bit text.\r\n.this line starts with a dot\r\n..and this one with two\r\n.\r\n\r\n");
        text.Append("--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n");
        var base64 = Convert.ToBase64String(attachment);
        for (var i = 0; i < base64.Length; i += 76)
        {
            text.Append(base64, i, Math.Min(76, base64.Length - i)).Append("\r\n");
        }
        text.Append("--b1--\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>A multi-line reply's text as one line (continuation prefixes dropped), for substring checks.</summary>
    private static string Joined(string reply) =>
        System.Text.RegularExpressions.Regex.Replace(reply, @"\n\d{3}[ -](\d\.\d{1,3}\.\d{1,3} )?", " ");

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }
}
