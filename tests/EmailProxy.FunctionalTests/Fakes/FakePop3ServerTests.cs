using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Pop3;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Fakes;

/// <summary>Tests of <see cref="FakeExchangePop3Server"/> itself, with MailKit (or a raw client) talking to it directly.</summary>
public sealed class FakePop3ServerTests
{
    private const string User = "user@example.com";
    private const string Scope = "https://outlook.office.com/POP.AccessAsUser.All offline_access";

    [Fact]
    public async Task GetStream_LargeEightBitMessageWithDotLinesOverImplicitTls_ReturnsBytesExactlyAndQuitDeletesIt()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        var large = TestMessages.AnyBytesWithDotLines(3 * 1024 * 1024, User);
        pop3.AddMessage(large);
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;

        using var client = NewPop3Client();
        await client.ConnectAsync("127.0.0.1", pop3.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));
        var count = client.Count;
        var size = await client.GetMessageSizeAsync(0);
        byte[] retrieved;
        await using (var stream = await client.GetStreamAsync(0))
        {
            retrieved = TestMessages.ReadAll(stream);
        }

        await client.DeleteMessageAsync(0);
        var deletedBeforeQuit = pop3.DeletedMessages.Count;
        await client.DisconnectAsync(quit: true);

        Assert.Equal(1, count);
        Assert.Equal(large.Length, size);
        Assert.Equal(large.Length, retrieved.Length);
        Assert.True(large.AsSpan().SequenceEqual(retrieved), "RETR content differs from the stored message.");
        Assert.Equal(0, deletedBeforeQuit);
        Assert.Equal([1], pop3.DeletedMessages);
        Assert.Equal([$"user={User}\u0001auth=Bearer {token}\u0001\u0001"], pop3.XOAuth2Strings);
        Assert.Equal(1, pop3.SuccessfulAuthentications);
        Assert.DoesNotContain(pop3.Commands.Lines, line => line.Contains(token, StringComparison.Ordinal));
        Assert.Contains("RETR 1", pop3.Commands.Lines);
        Assert.Contains("DELE 1", pop3.Commands.Lines);
        Assert.Equal("QUIT", pop3.Commands.Lines[^1]);
        Assert.Empty(pop3.Errors.Lines);
    }

    [Fact]
    public async Task Connect_PlaintextWithStartTls_UpgradesWithStlsThenAuthenticatesAndRetrieves()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity, implicitTls: false);
        var message = Encoding.ASCII.GetBytes("Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nend\r\n");
        pop3.AddMessage(message);
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;

        using var client = NewPop3Client();
        await client.ConnectAsync("127.0.0.1", pop3.Port, SecureSocketOptions.StartTls);
        var secure = client.IsSecure;
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));
        byte[] retrieved;
        await using (var stream = await client.GetStreamAsync(0))
        {
            retrieved = TestMessages.ReadAll(stream);
        }

        await client.DisconnectAsync(quit: true);

        Assert.True(secure);
        Assert.True(message.AsSpan().SequenceEqual(retrieved));
        Assert.Equal(["CAPA", "STLS", "CAPA", "AUTH XOAUTH2", FakeExchangePop3Server.RedactedResponse], pop3.Commands.Lines.Take(5));
        Assert.Equal(1, pop3.SuccessfulAuthentications);
        Assert.Empty(pop3.DeletedMessages);
        Assert.Empty(pop3.Errors.Lines);
    }

    [Fact]
    public async Task Auth_PlaintextBeforeStls_RefusedAndCapaOffersStls()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity, implicitTls: false);
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;
        await using var raw = await LineClient.ConnectAsync(pop3.Port);

        var greeting = await raw.ReadLineAsync();
        await raw.WriteAsync("CAPA\r\n");
        var capabilities = await ReadMultiLineAsync(() => raw.ReadLineAsync());
        await raw.WriteAsync($"AUTH XOAUTH2 {XOAuth2(User, token)}\r\n");
        var auth = await raw.ReadLineAsync();
        await raw.WriteAsync("STAT\r\n");
        var stat = await raw.ReadLineAsync();
        await raw.WriteAsync("QUIT\r\n");
        var bye = await raw.ReadLineAsync();
        var closed = await raw.IsClosedByServerAsync();

        Assert.Equal(FakeExchangePop3Server.Greeting, greeting);
        Assert.Equal(["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER", "STLS"], capabilities);
        Assert.Equal(FakeExchangePop3Server.InvalidState, auth);
        Assert.Equal(FakeExchangePop3Server.InvalidState, stat);
        Assert.Equal(FakeExchangePop3Server.SigningOff, bye);
        Assert.True(closed);
        Assert.Equal(0, pop3.AuthenticationAttempts);
    }

    [Fact]
    public async Task Authenticate_BadToken_ThrowsAuthenticationException()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        identity.IssueTokenForTests(User, Scope);

        using var client = await ConnectAsync(pop3);
        var exception = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, "not-a-token")));

        Assert.False(client.IsAuthenticated);
        Assert.Equal(1, pop3.AuthenticationAttempts);
        Assert.Equal(0, pop3.SuccessfulAuthentications);
        Assert.Equal(["CAPA", "AUTH XOAUTH2", FakeExchangePop3Server.RedactedResponse], pop3.Commands.Lines);
        Assert.Equal("Authentication failed.", exception.Message);
    }

    [Fact]
    public async Task Authenticate_RejectNextAuthenticationsOne_FirstAttemptFailsSecondSucceeds()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        pop3.AddMessage(Encoding.ASCII.GetBytes("Subject: one\r\n\r\nHello.\r\n"));
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;
        pop3.RejectNextAuthentications(1);

        using var client = await ConnectAsync(pop3);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token)));
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));
        var count = client.Count;
        await client.DisconnectAsync(quit: true);

        Assert.Equal(1, count);
        Assert.Equal(2, pop3.AuthenticationAttempts);
        Assert.Equal(1, pop3.SuccessfulAuthentications);
        Assert.Equal(2, pop3.XOAuth2Strings.Count);
    }

    [Fact]
    public async Task Auth_GmailStyleChallengeOverRawTls_SendsJsonChallengeThenErrAfterEmptyLine()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        pop3.GmailStyleChallenge = true;
        var (tcp, tls, reader) = await ConnectRawTlsAsync(pop3);
        using var ownedTcp = tcp;
        await using var ownedTls = tls;

        var greeting = await ReadLineAsync(reader);
        await SendAsync(tls, "AUTH XOAUTH2");
        var continuation = await ReadLineAsync(reader);
        await SendAsync(tls, XOAuth2(User, "expired-token"));
        var challenge = await ReadLineAsync(reader);
        await SendAsync(tls, string.Empty);
        var failure = await ReadLineAsync(reader);
        await SendAsync(tls, "QUIT");
        var bye = await ReadLineAsync(reader);

        Assert.Equal(FakeExchangePop3Server.Greeting, greeting);
        Assert.Equal("+ ", continuation);
        Assert.StartsWith("+ ", challenge, StringComparison.Ordinal);
        Assert.Equal(FakeExchangePop3Server.GmailChallengeJson, Encoding.UTF8.GetString(Convert.FromBase64String(challenge[2..])));
        Assert.Equal("-ERR [AUTH] Invalid credentials.", failure);
        Assert.Equal(FakeExchangePop3Server.SigningOff, bye);
        Assert.Contains("(answer to the challenge: 0 characters)", pop3.Commands.Lines);
        Assert.Equal(["AUTH XOAUTH2", FakeExchangePop3Server.RedactedResponse], pop3.Commands.Lines.Take(2));
        Assert.Equal(0, pop3.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Transaction_MailKitListUidlTopDeleteReset_AnswersEveryFormAndKeepsMessages()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        var first = Encoding.ASCII.GetBytes("Subject: first\r\nFrom: a@example.com\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n");
        var second = Encoding.ASCII.GetBytes("Subject: second\r\n\r\nbody\r\n");
        pop3.AddMessage(first);
        pop3.AddMessage(second);
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;

        using var client = await ConnectAsync(pop3);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));
        var sizes = await client.GetMessageSizesAsync();
        var secondSize = await client.GetMessageSizeAsync(1);
        var uids = await client.GetMessageUidsAsync();
        var secondUid = await client.GetMessageUidAsync(1);
        var headers = await client.GetMessageHeadersAsync(0);
        await client.NoOpAsync();
        await client.DeleteMessageAsync(0);
        await client.ResetAsync();
        await client.DisconnectAsync(quit: true);

        Assert.Equal([first.Length, second.Length], sizes);
        Assert.Equal(second.Length, secondSize);
        Assert.Equal(2, uids.Count);
        Assert.Equal(uids[1], secondUid);
        Assert.NotEqual(uids[0], uids[1]);
        Assert.Equal("first", headers["Subject"]);
        Assert.Empty(pop3.DeletedMessages);
        var commands = pop3.Commands.Lines;
        Assert.Contains("LIST", commands);
        Assert.Contains("LIST 2", commands);
        Assert.Contains("UIDL", commands);
        Assert.Contains("UIDL 2", commands);
        Assert.Contains("TOP 1 0", commands);
        Assert.Contains("NOOP", commands);
        Assert.Contains("RSET", commands);
        Assert.Empty(pop3.Errors.Lines);
    }

    [Fact]
    public async Task Commands_RawTranscriptOverTls_GivesExchangeRepliesForStatesAndArguments()
    {
        await using var identity = await StartIdentityAsync();
        await using var pop3 = StartPop3(identity);
        pop3.AddMessage(Encoding.ASCII.GetBytes("Subject: s\r\n\r\n.one\r\ntwo\r\nthree\r\n"));
        pop3.AddMessage(Encoding.ASCII.GetBytes("Subject: t\r\n\r\nx\r\n"));
        var token = identity.IssueTokenForTests(User, Scope).AccessToken;
        var (tcp, tls, reader) = await ConnectRawTlsAsync(pop3);
        using var ownedTcp = tcp;
        await using var ownedTls = tls;
        async Task<string> CommandAsync(string line)
        {
            await SendAsync(tls, line);
            return await ReadLineAsync(reader);
        }

        Task<string?> NextLineAsync() => reader.ReadLineAsync(CancellationToken.None);

        await ReadLineAsync(reader);
        await SendAsync(tls, "CAPA");
        var capabilities = await ReadMultiLineAsync(NextLineAsync);
        var statBeforeAuth = await CommandAsync("STAT");
        var passWithoutUser = await CommandAsync("PASS secret");
        var user = await CommandAsync($"USER {User}");
        var pass = await CommandAsync("PASS secret");
        var stls = await CommandAsync("STLS");
        var auth = await CommandAsync($"AUTH XOAUTH2 {XOAuth2(User, token)}");
        var authAgain = await CommandAsync($"AUTH XOAUTH2 {XOAuth2(User, token)}");
        var stat = await CommandAsync("STAT");
        await SendAsync(tls, "LIST");
        var list = await ReadMultiLineAsync(NextLineAsync);
        var listOutOfRange = await CommandAsync("LIST 3");
        var listGarbage = await CommandAsync("LIST x");
        var uidl = await CommandAsync("UIDL 1");
        await SendAsync(tls, "TOP 1 1");
        var top = await ReadMultiLineAsync(NextLineAsync);
        var dele = await CommandAsync("DELE 2");
        var retrDeleted = await CommandAsync("RETR 2");
        var statAfterDele = await CommandAsync("STAT");
        var bye = await CommandAsync("QUIT");

        Assert.Equal(["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER"], capabilities);
        Assert.Equal(FakeExchangePop3Server.InvalidState, statBeforeAuth);
        Assert.Equal(FakeExchangePop3Server.InvalidState, passWithoutUser);
        Assert.Equal("+OK", user);
        Assert.Equal(FakeExchangePop3Server.LogonFailure, pass);
        Assert.Equal(FakeExchangePop3Server.InvalidState, stls);
        Assert.Equal(FakeExchangePop3Server.AuthenticationSucceeded, auth);
        Assert.Equal(FakeExchangePop3Server.InvalidState, authAgain);
        Assert.Equal("+OK 2 49", stat);
        Assert.Equal(["+OK 2 49", "1 32", "2 17"], list);
        Assert.Equal("-ERR The specified message is out of range.", listOutOfRange);
        Assert.Equal("-ERR Protocol error.", listGarbage);
        Assert.Equal("+OK 1 AAQkADFakeUid000001", uidl);
        Assert.Equal(["+OK", "Subject: s", string.Empty, "..one"], top);
        Assert.Equal("+OK", dele);
        Assert.Equal("-ERR The specified message is out of range.", retrDeleted);
        Assert.Equal("+OK 1 32", statAfterDele);
        Assert.Equal(FakeExchangePop3Server.SigningOff, bye);
        Assert.Equal([2], pop3.DeletedMessages);
        Assert.Contains($"PASS {FakeExchangePop3Server.RedactedResponse}", pop3.Commands.Lines);
        Assert.Contains($"AUTH XOAUTH2 {FakeExchangePop3Server.RedactedResponse}", pop3.Commands.Lines);
        Assert.DoesNotContain(pop3.Commands.Lines, line => line.Contains(token, StringComparison.Ordinal) || line.Contains("secret", StringComparison.Ordinal));
    }

    private static async Task<FakeIdentityServer> StartIdentityAsync()
    {
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        return identity;
    }

    private static FakeExchangePop3Server StartPop3(FakeIdentityServer identity, bool implicitTls = true)
    {
        var pop3 = new FakeExchangePop3Server(identity, implicitTls);
        pop3.Start();
        return pop3;
    }

    private static Pop3Client NewPop3Client() => new()
    {
        CheckCertificateRevocation = false,
        ServerCertificateValidationCallback = (_, certificate, _, errors) => TestCertificates.Trusted.ValidateServerCertificate(certificate, errors),
        Timeout = 30_000,
    };

    private static async Task<Pop3Client> ConnectAsync(FakeExchangePop3Server pop3)
    {
        var client = NewPop3Client();
        await client.ConnectAsync("127.0.0.1", pop3.Port, SecureSocketOptions.SslOnConnect);
        return client;
    }

    private static async Task<(TcpClient Tcp, SslStream Tls, FakeConnection Reader)> ConnectRawTlsAsync(FakeExchangePop3Server pop3)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, pop3.Port);
        var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => TestCertificates.Trusted.ValidateServerCertificate(certificate, errors),
        });
        return (tcp, tls, new FakeConnection(tls));
    }

    private static async Task SendAsync(Stream stream, string line)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));
        await stream.FlushAsync();
    }

    private static async Task<string> ReadLineAsync(FakeConnection reader)
    {
        using var timeout = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        return await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("The server closed the connection.");
    }

    /// <summary>Reads a multi-line response up to (not including) the lone dot.</summary>
    private static async Task<List<string>> ReadMultiLineAsync(Func<Task<string?>> readLine)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await readLine() ?? throw new EndOfStreamException($"The server closed the connection inside a multi-line response: {string.Join(" | ", lines)}");
            if (line == ".")
            {
                return lines;
            }

            lines.Add(line);
        }
    }

    private static string XOAuth2(string user, string token) => XOAuth2Response.Encode(user, token);
}
