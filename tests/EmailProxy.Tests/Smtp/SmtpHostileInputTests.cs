using System.Text;
using EmailProxy.Connections;
using EmailProxy.Tests.Connections;
using EmailProxy.Tests.Imap;

namespace EmailProxy.Tests.Smtp;

/// <summary>
/// The SMTP front before AUTH against the bad input of issue 11: each is answered as SMTP answers
/// (5xx, then 421) and closed by the session itself, and nothing hidden behind it ever runs.
/// </summary>
public sealed class SmtpHostileInputTests
{
    private static string Plain(string user) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0secret"));

    [Fact]
    public async Task RunAsync_AuthCancelledAgainAndAgain_ClosedAfterTheBadCommandLimit()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync("EHLO x\r\n" + string.Concat(Enumerable.Repeat("AUTH LOGIN\r\n*\r\n", MailSession.MaxBadCommands + 5)));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(MailSession.MaxBadCommands, lines.Count(l => l.StartsWith("501 5.7.0 Authentication cancelled", StringComparison.Ordinal)));
        Assert.StartsWith("421 ", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_RandomBytes_ClosedByTheSession()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync(HostileInput.RandomBytes());

        var (lines, raw) = await client.EndedAsync();
        Assert.StartsWith("421 4.7.0 ", lines[^1]);
        Assert.True(HostileInput.HasNoInjectedLine(raw));
    }

    [Fact]
    public async Task RunAsync_TlsClientHelloOnAPlaintextPort_421AtOnce()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync(HostileInput.TlsClientHello());

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(2, lines.Count);
        Assert.Equal("421 4.7.0 TLS handshake refused: this port starts in plaintext; closing", lines[1]);
    }

    [Fact]
    public async Task RunAsync_MegabyteLine_421LineTooLong()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync(HostileInput.MegabyteLine("EHLO "));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal($"421 4.7.0 Line too long: the limit is {MailSession.MaxLineLength} bytes; closing", lines[^1]);
        Assert.Equal(2, lines.Count);
        ImapHostileInputTests.AssertPeakWithinLimit(client);
    }

    [Fact]
    public async Task RunAsync_HttpPostWithSmtpCommandsInItsBody_ClosedAtOnceAndNothingOfItRuns()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync(HostileInput.HttpPost(1587, $"EHLO evil\r\nAUTH PLAIN {Plain("user@example.com")}\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nspam\r\n.\r\n"));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(2, lines.Count);
        Assert.Equal("421 4.7.0 " + CrossProtocol.Refusal, lines[1]);
        Assert.Empty(client.Events("LoginFailed"));
        Assert.Contains("ended: closed: looked like an HTTP request", client.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ElevenUnknownCommands_TenAnsweredThen421SayingWhy()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync(string.Concat(Enumerable.Repeat("FROB\r\n", 11)));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(12, lines.Count);
        Assert.All(lines.Skip(1).Take(10), line => Assert.Equal("500 5.5.2 Command not recognized", line));
        Assert.Equal($"421 4.7.0 Too many unknown or bad commands ({MailSession.MaxBadCommands}); closing", lines[^1]);
    }

    [Fact]
    public async Task RunAsync_DataBeforeAuth_530AndTheMessageLinesCountAsBadCommands()
    {
        await using var client = HostileClient.Start("SMTP");

        var message = string.Concat(Enumerable.Range(1, 50).Select(i => $"Line {i} of a message that must never be buffered\r\n"));
        await client.SendAsync("EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nDATA\r\n" + message + ".\r\n");

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(2, lines.Count(l => l.StartsWith("530 5.7.0 Authentication required", StringComparison.Ordinal)));
        Assert.Equal(MailSession.MaxBadCommands - 2, lines.Count(l => l.StartsWith("500 ", StringComparison.Ordinal)));
        Assert.StartsWith("421 4.7.0 Too many unknown or bad commands", lines[^1]);
        var (peak, _) = ImapHostileInputTests.AssertPeakWithinLimit(client);
        Assert.True(peak < 100, $"the longest line held was {peak} bytes");
    }

    [Fact]
    public async Task RunAsync_LoginNameWithCrLfAndControlCharacters_NoInjectedLineInTheReplyOrTheLog()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync($"EHLO a\rb\u001b\r\nAUTH PLAIN {Plain(HostileInput.InjectingName)}\r\nQUIT\r\n");

        var (lines, raw) = await client.EndedAsync();
        Assert.Contains(lines, l => l.StartsWith("535 5.7.8 ", StringComparison.Ordinal));
        Assert.True(HostileInput.HasNoInjectedLine(raw), raw);
        Assert.All(client.Log.Lines, line => Assert.True(HostileInput.HasNoInjectedLine("\n" + line), line));
    }

    [Fact]
    public async Task RunAsync_HugeAuthPlainResponse_421LineTooLongNotBuffered()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync("EHLO client.example\r\nAUTH PLAIN\r\n" + HostileInput.HugeSaslResponse() + "\r\n");

        var (lines, _) = await client.EndedAsync();
        Assert.Equal("334 ", lines[^2]);
        Assert.Equal($"421 4.7.0 Line too long: the limit is {MailSession.MaxLineLength} bytes; closing", lines[^1]);
        Assert.Empty(client.Events("LoginFailed"));
    }

    [Fact]
    public async Task RunAsync_HugeAuthPlainInitialResponse_421LineTooLong()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync("EHLO client.example\r\nAUTH PLAIN " + HostileInput.HugeSaslResponse() + "\r\n");

        var (lines, _) = await client.EndedAsync();
        Assert.Equal($"421 4.7.0 Line too long: the limit is {MailSession.MaxLineLength} bytes; closing", lines[^1]);
    }

    [Fact]
    public async Task RunAsync_ThreeFailedLogins_ThirdAnsweredThen421AndTheFourthNeverRuns()
    {
        await using var client = HostileClient.Start("SMTP");

        await client.SendAsync("EHLO client.example\r\n" + string.Concat(Enumerable.Range(1, 4).Select(i => $"AUTH PLAIN {Plain($"guess{i}@example.com")}\r\n")));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(MailSession.MaxFailedLogins, lines.Count(l => l.StartsWith("535 5.7.8 ", StringComparison.Ordinal)));
        Assert.Equal($"421 4.7.0 Too many failed logins ({MailSession.MaxFailedLogins}); closing", lines[^1]);
        Assert.Equal(MailSession.MaxFailedLogins, client.Events("LoginFailed").Count);
    }

    [Fact]
    public async Task RunAsync_NoNewAuthWithinTheRetryWindow_421AfterIt()
    {
        await using var client = HostileClient.Start("SMTP");
        await client.LineAsync();

        await client.SendAsync($"AUTH\r\nHELO client.example\r\nAUTH PLAIN {Plain("someone@example.com")}\r\n");
        Assert.StartsWith("503 ", await client.LineAsync());
        Assert.StartsWith("250 ", await client.LineAsync());
        Assert.StartsWith("535 ", await client.LineAsync());
        client.Time.Advance(MailSession.RetryWindow);

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(["421 4.4.2 No new authentication after the failed one; closing"], lines);
    }

    [Fact]
    public async Task RunAsync_ClientSendingOneByteASecond_ClosedAtTheEndOfTheWindow()
    {
        await using var client = HostileClient.Start("SMTP");
        await client.LineAsync();

        var line = "EHLO a-name-that-never-ends.example";
        for (var second = 0; second < MailSession.LoginTimeout.TotalSeconds; second++)
        {
            Assert.False(client.Session.IsCompleted);
            await client.SendAsync(line[second % line.Length].ToString());
            client.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(["421 4.4.2 No authentication within 60 seconds; closing"], lines);
    }
}
