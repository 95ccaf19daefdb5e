using System.Text;
using EmailProxy.Connections;
using EmailProxy.Tests.Connections;
using EmailProxy.Tests.Imap;

namespace EmailProxy.Tests.Pop3;

/// <summary>
/// The POP3 front before login against the bad input of issue 11: each is answered with -ERR and
/// closed by the session itself, and nothing hidden behind it ever runs.
/// </summary>
public sealed class Pop3HostileInputTests
{
    private const string Greeting = "+OK Email OAuth2 Proxy POP3 ready";

    [Fact]
    public async Task RunAsync_RandomBytes_ClosedByTheSession()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(HostileInput.RandomBytes());

        var (lines, raw) = await client.EndedAsync();
        Assert.StartsWith("-ERR ", lines[^1]);
        Assert.EndsWith("; closing", lines[^1]);
        Assert.True(HostileInput.HasNoInjectedLine(raw));
    }

    [Fact]
    public async Task RunAsync_TlsClientHelloOnAPlaintextPort_ErrAtOnce()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(HostileInput.TlsClientHello());

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "-ERR TLS handshake refused: this port starts in plaintext; closing"], lines);
    }

    [Fact]
    public async Task RunAsync_MegabyteLine_ErrLineTooLong()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(HostileInput.MegabyteLine("USER "));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, $"-ERR Line too long: the limit is {MailSession.MaxLineLength} bytes; closing"], lines);
        ImapHostileInputTests.AssertPeakWithinLimit(client);
    }

    [Fact]
    public async Task RunAsync_HttpPostWithPopCommandsInItsBody_ClosedAtOnceAndNothingOfItRuns()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(HostileInput.HttpPost(1995, "USER user@example.com\r\nPASS secret\r\nDELE 1\r\n"));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "-ERR " + CrossProtocol.Refusal], lines);
        Assert.Empty(client.Events("LoginFailed"));
        Assert.Contains("ended: closed: looked like an HTTP request", client.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ElevenUnknownCommands_TenAnsweredThenErrSayingWhy()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(string.Concat(Enumerable.Repeat("FROB\r\n", 11)));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(12, lines.Count);
        Assert.All(lines.Skip(1).Take(10), line => Assert.StartsWith("-ERR Log in first", line));
        Assert.Equal($"-ERR Too many unknown or bad commands ({MailSession.MaxBadCommands}); closing", lines[^1]);
    }

    [Fact]
    public async Task RunAsync_AuthWithTooManyArguments_ErrCountedAsABadCommand()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(string.Concat(Enumerable.Repeat("AUTH PLAIN AHVzZXIAc2VjcmV0 extra\r\n", MailSession.MaxBadCommands)));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(MailSession.MaxBadCommands + 2, lines.Count);
        Assert.All(lines.Skip(1).Take(MailSession.MaxBadCommands), line => Assert.Equal("-ERR AUTH takes a mechanism and at most an initial response", line));
        Assert.Empty(client.Events("LoginFailed"));
    }

    [Fact]
    public async Task RunAsync_LoginNameWithBareCrAndControlCharacters_NoInjectedLineInTheReplyOrTheLog()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync("USER x\r* OK [ALERT] pwned\u001b[31m\u0085\r\nPASS secret\r\nQUIT\r\n");

        var (lines, raw) = await client.EndedAsync();
        Assert.StartsWith("-ERR [AUTH] ", lines[2]);
        Assert.True(HostileInput.HasNoInjectedLine(raw), raw);
        Assert.All(client.Log.Lines, line => Assert.True(HostileInput.HasNoInjectedLine("\n" + line), line));
        Assert.Contains("as x?* OK [ALERT] pwned?[31m failed", Assert.Single(client.Events("LoginFailed")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_HugeAuthPlainResponse_ErrLineTooLongNotBuffered()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync("AUTH PLAIN\r\n" + HostileInput.HugeSaslResponse() + "\r\n");

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "+ ", $"-ERR Line too long: the limit is {MailSession.MaxLineLength} bytes; closing"], lines);
    }

    [Fact]
    public async Task RunAsync_ThreeFailedLogins_ThirdAnsweredThenErrAndTheFourthNeverRuns()
    {
        await using var client = HostileClient.Start("POP3");

        await client.SendAsync(string.Concat(Enumerable.Range(1, 4).Select(i => $"USER guess{i}@example.com\r\nPASS secret\r\n")));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(MailSession.MaxFailedLogins, lines.Count(l => l.StartsWith("-ERR [AUTH] ", StringComparison.Ordinal)));
        Assert.Equal($"-ERR Too many failed logins ({MailSession.MaxFailedLogins}); closing", lines[^1]);
        Assert.Equal(MailSession.MaxFailedLogins, client.Events("LoginFailed").Count);
    }

    [Fact]
    public async Task RunAsync_NoNewLoginWithinTheRetryWindow_ErrAfterIt()
    {
        await using var client = HostileClient.Start("POP3");
        await client.LineAsync();

        await client.SendAsync("USER someone@example.com\r\nPASS secret\r\n");
        Assert.Equal("+OK Send PASS", await client.LineAsync());
        Assert.StartsWith("-ERR [AUTH] ", await client.LineAsync());
        client.Time.Advance(MailSession.RetryWindow);

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(["-ERR Autologout: no new login after the failed one"], lines);
    }
}
