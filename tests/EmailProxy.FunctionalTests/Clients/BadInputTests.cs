using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// Clients that misbehave on the wire, on raw sockets: commands pipelined before the greeting, LOGOUT inside a
/// literal, a connection dropped in the middle of STARTTLS or of a TLS handshake. Each must leave the proxy serving
/// others: a normal MailKit login right after works, and the proxy logs no error.
/// </summary>
[Collection(RealClients.Name)]
public sealed class BadInputTests(ClientSuiteFixture suite)
{
    private const string User = TestEnvironment.Account;
    private const string Password = ClientSuiteFixture.Password;

    [Fact]
    public async Task Imap_CommandsPipelinedBeforeTheGreeting_AnsweredInOrderAndOthersServed()
    {
        var mark = suite.LogMark();
        await using (var client = await LineClient.ConnectAsync(suite.AutoPorts.Imap))
        {
            await client.WriteAsync($"a1 CAPABILITY\r\na2 LOGIN {User} {Password}\r\na3 SELECT INBOX\r\na4 LOGOUT\r\n");

            var seen = new List<string>();
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            Assert.StartsWith("a1 OK", await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal), seen), StringComparison.Ordinal);
            Assert.StartsWith("a2 OK", await client.ReadUntilAsync(l => l.StartsWith("a2 ", StringComparison.Ordinal), seen), StringComparison.Ordinal);
            Assert.StartsWith("a3 OK", await client.ReadUntilAsync(l => l.StartsWith("a3 ", StringComparison.Ordinal), seen), StringComparison.Ordinal);
            Assert.StartsWith("a4 OK", await client.ReadUntilAsync(l => l.StartsWith("a4 ", StringComparison.Ordinal), seen), StringComparison.Ordinal);
        }
        await AssertImapServesAsync(ClientMode.Plain);
        suite.AssertLogCleanSince(mark);
    }

    [Fact]
    public async Task Smtp_CommandsPipelinedBeforeTheGreeting_AnsweredInOrderAndOthersServed()
    {
        var mark = suite.LogMark();
        await using (var client = await LineClient.ConnectAsync(suite.AutoPorts.Smtp))
        {
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{User}\0{Password}"));
            await client.WriteAsync($"EHLO client.test\r\nAUTH PLAIN {plain}\r\nQUIT\r\n");

            Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            Assert.StartsWith("250", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            Assert.StartsWith("235", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            Assert.StartsWith("221", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        }
        await AssertSmtpServesAsync(ClientMode.Plain);
        suite.AssertLogCleanSince(mark);
    }

    [Fact]
    public async Task Pop3_CommandsPipelinedBeforeTheGreeting_AnsweredInOrderAndOthersServed()
    {
        var mark = suite.LogMark();
        await using (var client = await LineClient.ConnectAsync(suite.AutoPorts.Pop))
        {
            await client.WriteAsync($"CAPA\r\nUSER {User}\r\nPASS {Password}\r\nSTAT\r\nQUIT\r\n");

            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            await client.ReadUntilAsync(l => l == ".");
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        }
        await AssertPopServesAsync(ClientMode.Plain);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>LOGOUT sent as the data of a LOGIN literal, then the connection dropped: the literal simply ends short.</summary>
    [Theory]
    [InlineData("{40}")]
    [InlineData("{40+}")]
    public async Task Imap_LogoutInsideALoginLiteralThenDropped_OthersServed(string literal)
    {
        var mark = suite.LogMark();
        await using (var client = await LineClient.ConnectAsync(suite.AutoPorts.Imap))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            await client.WriteAsync($"a1 LOGIN {User} {literal}\r\n");
            if (!literal.EndsWith("+}", StringComparison.Ordinal))
            {
                Assert.StartsWith("+", await client.ReadLineAsync(), StringComparison.Ordinal);
            }
            await client.WriteAsync("a2 LOGOUT\r\n");
        }
        await AssertImapServesAsync(ClientMode.Plain);
        suite.AssertLogCleanSince(mark);
    }

    [Fact]
    public async Task Imap_LogoutInsideALoginLiteralKeptOpen_ReadAsTheLiteralAndTheSessionGoesOn()
    {
        var mark = suite.LogMark();
        await using (var client = await LineClient.ConnectAsync(suite.AutoPorts.Imap))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            await client.WriteAsync($"a1 LOGIN {User} {{11}}\r\n");
            Assert.StartsWith("+", await client.ReadLineAsync(), StringComparison.Ordinal);
            // "a2 LOGOUT\r\n" is 11 bytes: the literal, so the password, not a command; the CRLF after it ends LOGIN.
            // No password_hash: any password is accepted, and the session goes on.
            await client.WriteAsync("a2 LOGOUT\r\n\r\n");
            var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
            Assert.StartsWith("a1 OK", answer, StringComparison.Ordinal);
            await client.WriteAsync("a3 LOGOUT\r\n");
            Assert.StartsWith("a3 OK", await client.ReadUntilAsync(l => l.StartsWith("a3 ", StringComparison.Ordinal)), StringComparison.Ordinal);
        }
        await AssertImapServesAsync(ClientMode.Plain);
        suite.AssertLogCleanSince(mark);
    }

    [Fact]
    public async Task StartTls_ConnectionDroppedInTheHandshakeOnEveryProtocol_OthersServed()
    {
        var mark = suite.LogMark();
        var ports = suite.StartTlsPorts;
        // Half a TLS record header: the handshake starts and never ends.
        byte[] partialHello = [0x16, 0x03, 0x01, 0x02];

        await using (var imap = await LineClient.ConnectAsync(ports.Imap))
        {
            Assert.StartsWith("* OK", await imap.ReadLineAsync(), StringComparison.Ordinal);
            await imap.WriteAsync("a1 STARTTLS\r\n");
            Assert.StartsWith("a1 OK", await imap.ReadLineAsync(), StringComparison.Ordinal);
            await imap.WriteAsync(partialHello);
        }
        await using (var smtp = await LineClient.ConnectAsync(ports.Smtp))
        {
            Assert.StartsWith("220 ", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await smtp.WriteAsync("EHLO client.test\r\n");
            Assert.StartsWith("250", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await smtp.WriteAsync("STARTTLS\r\n");
            Assert.StartsWith("220", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        }
        await using (var pop = await LineClient.ConnectAsync(ports.Pop))
        {
            Assert.StartsWith("+OK", await pop.ReadLineAsync(), StringComparison.Ordinal);
            await pop.WriteAsync("STLS\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync(), StringComparison.Ordinal);
            await pop.WriteAsync(partialHello);
        }
        // And on the auto proxy, a ClientHello cut short on the port that sniffs for one.
        await using (var sniffed = await LineClient.ConnectAsync(suite.AutoPorts.Imap))
        {
            await sniffed.WriteAsync(partialHello);
        }

        await AssertImapServesAsync(ClientMode.StartTls);
        await AssertSmtpServesAsync(ClientMode.StartTls);
        await AssertPopServesAsync(ClientMode.StartTls);
        await AssertImapServesAsync(ClientMode.Implicit);
        suite.AssertLogCleanSince(mark);
    }

    private static SecureSocketOptions Security(ClientMode mode) => mode switch
    {
        ClientMode.Plain => SecureSocketOptions.None,
        ClientMode.Implicit => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.StartTls,
    };

    private async Task AssertImapServesAsync(ClientMode mode)
    {
        using var client = new ImapClient { Timeout = (int)ObservableLog.DefaultTimeout.TotalMilliseconds, CheckCertificateRevocation = false };
        client.ServerCertificateValidationCallback = TrustedCa.From(suite.CaFile);
        await client.ConnectAsync("127.0.0.1", suite.Ports(mode).Imap, Security(mode));
        await client.AuthenticateAsync(User, Password);
        await client.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        await client.DisconnectAsync(quit: true);
    }

    private async Task AssertSmtpServesAsync(ClientMode mode)
    {
        using var client = new SmtpClient { Timeout = (int)ObservableLog.DefaultTimeout.TotalMilliseconds, CheckCertificateRevocation = false };
        client.ServerCertificateValidationCallback = TrustedCa.From(suite.CaFile);
        await client.ConnectAsync("127.0.0.1", suite.Ports(mode).Smtp, Security(mode));
        await client.AuthenticateAsync(User, Password);
        await client.DisconnectAsync(quit: true);
    }

    private async Task AssertPopServesAsync(ClientMode mode)
    {
        using var client = new Pop3Client { Timeout = (int)ObservableLog.DefaultTimeout.TotalMilliseconds, CheckCertificateRevocation = false };
        client.ServerCertificateValidationCallback = TrustedCa.From(suite.CaFile);
        await client.ConnectAsync("127.0.0.1", suite.Ports(mode).Pop, Security(mode));
        client.AuthenticationMechanisms.Clear();
        await client.AuthenticateAsync(User, Password);
        await client.DisconnectAsync(quit: true);
    }
}
