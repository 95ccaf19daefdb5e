using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Tests.Connections;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Imap;

/// <summary>
/// The IMAP front before login against the bad input of issue 11: each is answered as IMAP
/// answers (BAD, BYE) and closed by the session itself, and nothing a hostile client hides behind
/// it ever runs.
/// </summary>
public sealed partial class ImapHostileInputTests
{
    private const string Greeting = "* OK [CAPABILITY " + ImapSession.PreLoginCapabilities + "] Email OAuth2 Proxy ready";

    [Fact]
    public async Task RunAsync_RandomBytes_ClosedByTheSession()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(HostileInput.RandomBytes());

        var (lines, raw) = await client.EndedAsync();
        Assert.StartsWith("* BYE ", lines[^1]);
        Assert.True(HostileInput.HasNoInjectedLine(raw));
    }

    [Fact]
    public async Task RunAsync_TlsClientHelloOnAPlaintextPort_ByeAtOnce()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(HostileInput.TlsClientHello());

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "* BYE TLS handshake refused: this port starts in plaintext"], lines);
    }

    [Fact]
    public async Task RunAsync_MegabyteLine_ByeLineTooLong()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(HostileInput.MegabyteLine("a1 LOGIN "));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, $"* BYE Line too long: the limit is {MailSession.MaxLineLength} bytes"], lines);
        AssertPeakWithinLimit(client);
    }

    [Fact]
    public async Task RunAsync_HttpPostWithImapCommandsInItsBody_ClosedAtOnceAndNothingOfItRuns()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(HostileInput.HttpPost(1993, "a1 LOGIN user@example.com secret\r\na2 APPEND INBOX {5+}\r\nhello\r\n"));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "* BYE " + CrossProtocol.Refusal], lines);
        Assert.Empty(client.Events("LoginFailed"));
        Assert.Contains("ended: closed: looked like an HTTP request", client.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ElevenUnknownCommands_TenAnsweredThenByeSayingWhy()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(string.Concat(Enumerable.Range(1, 11).Select(i => $"a{i} FROB\r\n")));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(12, lines.Count);
        Assert.All(lines.Skip(1).Take(10), line => Assert.Matches("^a[0-9]+ BAD FROB is not available before login", line));
        Assert.Equal($"* BYE Too many unknown or bad commands ({MailSession.MaxBadCommands})", lines[^1]);
    }

    [Fact]
    public async Task RunAsync_SyntaxErrors_CountAsBadCommands()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(string.Concat(Enumerable.Repeat("a1 LOGIN \"unterminated\r\n", 11)));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(MailSession.MaxBadCommands, lines.Count(l => l.StartsWith("a1 BAD", StringComparison.Ordinal)));
        Assert.StartsWith("* BYE Too many", lines[^1]);
    }

    [Fact]
    public async Task RunAsync_LoginNameWithCrLfAndControlCharacters_NoInjectedLineInTheReplyOrTheLog()
    {
        await using var client = HostileClient.Start("IMAP");
        var name = Encoding.UTF8.GetBytes(HostileInput.InjectingName);

        await client.SendAsync($"a1 LOGIN {{{name.Length}+}}\r\n");
        await client.SendAsync(name);
        await client.SendAsync(" secret\r\na2 LOGOUT\r\n");

        var (lines, raw) = await client.EndedAsync();
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] ", lines[1]);
        Assert.True(HostileInput.HasNoInjectedLine(raw), raw);
        Assert.All(client.Log.Lines, line => Assert.True(HostileInput.HasNoInjectedLine("\n" + line), line));
        Assert.Contains("as x?* OK [ALERT] pwned?250 ok?[31m? failed", Assert.Single(client.Events("LoginFailed")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_HugeAuthenticatePlainResponse_ByeLineTooLongNotBuffered()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync("a1 AUTHENTICATE PLAIN\r\n" + HostileInput.HugeSaslResponse() + "\r\n");

        var (lines, _) = await client.EndedAsync();
        Assert.Equal([Greeting, "+ ", $"* BYE Line too long: the limit is {MailSession.MaxLineLength} bytes"], lines);
        Assert.Empty(client.Events("LoginFailed"));
    }

    [Fact]
    public async Task RunAsync_ThreeFailedLogins_ThirdAnsweredThenByeAndTheFourthNeverRuns()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync(string.Concat(Enumerable.Range(1, 4).Select(i => $"a{i} LOGIN guess{i}@example.com secret\r\n")));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(5, lines.Count);
        Assert.All(lines.Skip(1).Take(3), line => Assert.Contains(" NO [AUTHENTICATIONFAILED] ", line, StringComparison.Ordinal));
        Assert.Equal($"* BYE Too many failed logins ({MailSession.MaxFailedLogins})", lines[^1]);
        Assert.Equal(MailSession.MaxFailedLogins, client.Events("LoginFailed").Count);
    }

    [Fact]
    public async Task RunAsync_NoNewLoginWithinTheRetryWindow_ByeAfterIt()
    {
        await using var client = HostileClient.Start("IMAP");
        await client.LineAsync();

        await client.SendAsync("a1 LOGIN someone@example.com secret\r\n");
        Assert.StartsWith("a1 NO ", await client.LineAsync());
        client.Time.Advance(MailSession.RetryWindow - TimeSpan.FromSeconds(1));
        await client.SendAsync("a2 NOOP\r\n");
        Assert.Equal("a2 OK NOOP completed", await client.LineAsync());
        client.Time.Advance(TimeSpan.FromSeconds(1));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(["* BYE Autologout: no new login after the failed one"], lines);
    }

    [Fact]
    public async Task RunAsync_FailedLoginNearTheEndOfTheWindow_KeepsOnlyWhatIsLeftOfIt()
    {
        await using var client = HostileClient.Start("IMAP");
        await client.LineAsync();
        client.Time.Advance(MailSession.LoginTimeout - TimeSpan.FromSeconds(5));

        await client.SendAsync("a1 LOGIN someone@example.com secret\r\n");
        Assert.StartsWith("a1 NO ", await client.LineAsync());
        client.Time.Advance(TimeSpan.FromSeconds(5));

        var (lines, _) = await client.EndedAsync();
        Assert.Equal(["* BYE Autologout: no new login after the failed one"], lines);
    }

    [Fact]
    public async Task RunAsync_ClientThatNeverReadsAfterAFailedLogin_SessionStillEnds()
    {
        // Back-pressure as a socket gives it: the session's writes wait once 256 bytes are unread.
        await using var client = HostileClient.Start("IMAP", new PipeOptions(pauseWriterThreshold: 256, resumeWriterThreshold: 128));

        await client.SendAsync("a1 LOGIN someone@example.com secret\r\n");
        await PeekUntilAsync(client.Input, "a1 NO ");
        Assert.False(client.Session.IsCompleted);
        client.Time.Advance(MailSession.RetryWindow);
        await PeekUntilAsync(client.Input, "* BYE ");
        client.Time.Advance(TimeSpan.FromSeconds(2));

        await client.Session.Guarded();
        Assert.Contains("no new login after a failed one", client.Result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SessionEnd_LogsThePreLoginPeakWithItsLimit()
    {
        await using var client = HostileClient.Start("IMAP");

        await client.SendAsync("a1 LOGIN {5000+}\r\n" + new string('u', 5000) + " secret\r\na2 LOGOUT\r\n");

        await client.EndedAsync();
        var (peak, limit) = AssertPeakWithinLimit(client);
        Assert.InRange(peak, 5000, 5000 + 100);
        Assert.Equal(ImapCommandReader.MaxHeldBytes, limit);
    }

    /// <summary>The session's PreLoginPeak line: logged once, at Debug, and within its limit.</summary>
    internal static (long Peak, long Limit) AssertPeakWithinLimit(HostileClient client)
    {
        var entry = Assert.Single(client.Events("PreLoginPeak"));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, entry.Level);
        var match = PeakPattern().Match(entry.Message);
        Assert.True(match.Success, entry.Message);
        var (peak, limit) = (long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(peak, 0, limit);
        return (peak, limit);
    }

    /// <summary>Waits until the session wrote <paramref name="text"/>, without consuming anything (the back-pressure stays).</summary>
    private static async Task PeekUntilAsync(PipeReader reader, string text)
    {
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().Guarded();
            var seen = Encoding.UTF8.GetString(result.Buffer.ToArray());
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (seen.Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            Assert.False(result.IsCompleted, $"the session ended before writing {text}: {seen}");
        }
    }

    [GeneratedRegex("pre-login peak ([0-9]+) bytes held of ([0-9]+) allowed")]
    private static partial Regex PeakPattern();
}
