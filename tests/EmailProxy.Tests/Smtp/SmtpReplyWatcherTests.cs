using System.Text;
using EmailProxy.Diagnostics;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Smtp;

/// <summary>The SMTP relay's reply watcher: Exchange's Send As refusals, in whatever chunks they arrive, logged once with their fix.</summary>
public sealed class SmtpReplyWatcherTests : IDisposable
{
    private const string SendAsRefusal = "550 5.7.60 SMTP; Client does not have permissions to send as this sender";

    private static readonly EmailProxy.Configuration.AccountOptions Shared =
        TestAccounts.Create("info@example.com") with { TokenFrom = "me@example.com" };

    private readonly RecordingLoggerProvider _logs = new(LogLevel.Information);
    private readonly AccountActivity _activity = new(new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 17, 0, 0, TimeSpan.Zero)));

    public void Dispose() => _logs.Dispose();

    private SmtpReplyWatcher Watcher() => new(Shared, "127.0.0.1:50000", _logs.CreateLogger("test"), _activity);

    private static void Feed(SmtpReplyWatcher watcher, string text, params int[] cuts)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var at = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            watcher.Observe(bytes.AsSpan(at, cut - at));
            at = cut;
        }
    }

    [Fact]
    public void Observe_SendAsRefusalSplitAcrossChunks_LogsOnceWithTheFixAndRecordsIt()
    {
        var watcher = Watcher();
        var text = $"250 2.0.0 OK\r\n{SendAsRefusal}\r\n";

        // Cut inside the code, inside the text, and between CR and LF.
        Feed(watcher, text, 15, 16, 30, text.Length - 1);

        Assert.Equal(SendAsRefusal, watcher.Reported);
        var log = Assert.Single(_logs.Entries);
        Assert.Equal(LogLevel.Warning, log.Level);
        Assert.Equal("SendAsRefused", log.EventId.Name);
        Assert.Contains("account info@example.com", log.Line, StringComparison.Ordinal);
        Assert.Contains(SendAsRefusal, log.Line, StringComparison.Ordinal);
        Assert.Contains("Add-RecipientPermission -Identity info@example.com -Trustee <the user who signs in for account me@example.com> -AccessRights SendAs", log.Line, StringComparison.Ordinal);

        var entry = _activity.Of("info@example.com");
        Assert.Equal("SMTP", entry.LastErrorProtocol);
        Assert.Equal($"the server refused to send as the message's sender: {SendAsRefusal}", entry.LastError);
        Assert.Contains("Add-RecipientPermission", entry.LastErrorFix, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_ByteByByte_FindsTheRefusal()
    {
        var watcher = Watcher();
        var text = $"354 Start mail input\r\n{SendAsRefusal}\r\n";

        Feed(watcher, text, [.. Enumerable.Range(1, text.Length - 1)]);

        Assert.Equal(SendAsRefusal, watcher.Reported);
    }

    [Fact]
    public void Observe_MultiLineRefusalTwiceInASession_LogsOnlyOnce()
    {
        var watcher = Watcher();

        Feed(watcher, "554-5.2.252 SendAsDenied; info@example.com not allowed to send as boss@example.com;\r\n554 5.2.252 STOREDRV.Submission.Exception:SendAsDeniedException\r\n");
        Feed(watcher, $"{SendAsRefusal}\r\n");

        Assert.Equal("554-5.2.252 SendAsDenied; info@example.com not allowed to send as boss@example.com;", watcher.Reported);
        Assert.Single(_logs.Entries);
    }

    [Theory]
    [InlineData("250 2.1.0 Sender OK\r\n250 2.0.0 OK <id@host>\r\n")]
    [InlineData("550 5.1.1 User unknown\r\n")]
    [InlineData("221 2.0.0 Service closing: send as this sender\r\n")]
    [InlineData("no reply line 5.7.60 send as this sender\r\n")]
    [InlineData("550 5.7.60 SMTP; Client does not have permissions to send as this sender")]
    public void Observe_NoCompleteSendAsRefusal_NothingLoggedOrRecorded(string text)
    {
        var watcher = Watcher();

        Feed(watcher, text);

        Assert.Null(watcher.Reported);
        Assert.Empty(_logs.Entries);
        Assert.Null(_activity.Of("info@example.com").LastError);
    }

    [Fact]
    public void Observe_LineLongerThanTheLimit_DroppedAndTheNextLineStillSeen()
    {
        var watcher = Watcher();
        var tooLong = "550 5.7.60 send as this sender " + new string('x', SmtpReplyWatcher.MaxLineLength);

        Feed(watcher, $"{tooLong}\r\n", 100, 700);
        Assert.Null(watcher.Reported);

        Feed(watcher, $"{SendAsRefusal}\r\n");
        Assert.Equal(SendAsRefusal, watcher.Reported);
    }

    [Fact]
    public void Observe_ControlCharactersInTheReply_SanitisedInLogAndStatus()
    {
        var watcher = Watcher();

        Feed(watcher, "550 5.7.60 send as this sender\u001b[31m\r\n");

        Assert.NotNull(watcher.Reported);
        Assert.DoesNotContain("\u001b", watcher.Reported);
        Assert.DoesNotContain("\u001b", _logs.Entries.Single().Line);
    }
}
