using System.IO.Pipelines;
using System.Text;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Imap;

/// <summary>
/// What an attacker on the network, or a web page through a browser, can send before login, each
/// with its expected outcome: a syntax error is answered (BAD) and the reader goes on; anything
/// past a limit ends the command with a <see cref="ProtocolLimitException"/> (the session answers
/// BYE and closes). Whatever the input, the reader never holds more than
/// <see cref="ImapCommandReader.MaxHeldBytes"/>.
/// </summary>
public sealed class ImapCommandReaderHostileInputTests : IDisposable
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
    private readonly ImapCommandReader _reader;
    private readonly TempDirectory _temp = new();
    private int _continuations;

    public ImapCommandReaderHostileInputTests()
    {
        _reader = new ImapCommandReader(_pipe.Reader, _ =>
        {
            Interlocked.Increment(ref _continuations);
            return ValueTask.CompletedTask;
        });
    }

    public void Dispose() => _temp.Dispose();

    private async Task WriteAsync(string text) => await _pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));

    private Task<ImapCommand?> ReadAsync() => _reader.ReadCommandAsync(CancellationToken.None).AsTask().Guarded();

    private void AssertWithinLimit() =>
        Assert.InRange(_reader.PeakHeldBytes, 0, ImapCommandReader.MaxHeldBytes);

    /// <summary>
    /// Thousands of continuation lines, each announcing an empty non-synchronising literal, with
    /// <paramref name="filler"/> (an atom) before each literal if given.
    /// </summary>
    private static string ContinuationFlood(int lines, string? filler = null)
    {
        var atom = filler is null ? "" : filler + " ";
        var text = new StringBuilder("a LOGIN ").Append(atom).Append("{0+}\r\n");
        for (var i = 0; i < lines; i++)
        {
            text.Append(' ').Append(atom).Append("{0+}\r\n");
        }
        return text.Append(" x\r\n").ToString();
    }

    [Fact]
    public async Task ReadCommandAsync_RandomBytes_OnlyProtocolErrorsWithinLimit()
    {
        var random = new Random(11);
        var noise = new byte[256 * 1024];
        random.NextBytes(noise);
        await _pipe.Writer.WriteAsync(noise);
        await _pipe.Writer.CompleteAsync();

        try
        {
            while (await ReadAsync() is not null)
            {
            }
        }
        catch (ImapSyntaxException)
        {
            // Answered with BAD: the next read goes on, as the fuzz tests check at length.
        }
        catch (ProtocolLimitException)
        {
            // Answered with BYE: the session ends.
        }
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_TlsClientHelloOnPlaintext_NoCommandAndWithinLimit()
    {
        // A TLS 1.2 ClientHello's record header, handshake header and version: binary with no line end.
        byte[] hello = [0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, .. new byte[32], 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00];
        await _pipe.Writer.WriteAsync(hello);
        await _pipe.Writer.CompleteAsync();

        // No line ever ends: nothing runs, and the client's close ends the session.
        Assert.Null(await ReadAsync());
        AssertWithinLimit();
    }

    [Theory]
    [InlineData("t\u202Eag NOOP\r\n")]
    [InlineData("\u00E9 NOOP\r\n")]
    [InlineData("+ NOOP\r\n")]
    [InlineData("* NOOP\r\n")]
    [InlineData("a%b NOOP\r\n")]
    public async Task ReadCommandAsync_TagOutsideRfc3501_SyntaxErrorAnsweredUntagged(string line)
    {
        await WriteAsync(line + "a1 NOOP\r\n");

        var e = await Assert.ThrowsAsync<ImapSyntaxException>(ReadAsync);
        Assert.Null(e.Tag);
        Assert.Equal("a1", (await ReadAsync())?.Tag);
    }

    [Theory]
    [InlineData("A001")]
    [InlineData("a.b-c_d]")]
    [InlineData("1")]
    public async Task ReadCommandAsync_Rfc3501Tag_Read(string tag)
    {
        await WriteAsync($"{tag} NOOP\r\n");

        Assert.Equal(tag, (await ReadAsync())?.Tag);
    }

    [Fact]
    public async Task ReadCommandAsync_TlsClientHelloWithLineEnd_SyntaxError()
    {
        await _pipe.Writer.WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x0a });

        await Assert.ThrowsAsync<ImapSyntaxException>(ReadAsync);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_OneMiBLine_LineTooLongWithinLimit()
    {
        await WriteAsync("a LOGIN alice " + new string('x', 1024 * 1024) + "\r\n");

        await Assert.ThrowsAsync<LineTooLongException>(ReadAsync);
        AssertWithinLimit();
    }

    [Theory]
    [InlineData("4294967296")]
    [InlineData("4294967296+")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551615+")]
    [InlineData("18446744073709551616")]
    [InlineData("000000000000000000000000000000000000000000000000065537")]
    public async Task ReadCommandAsync_HugeLiteral_LimitWithoutContinuation(string size)
    {
        await WriteAsync($"a LOGIN alice {{{size}}}\r\n");

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("Literal too large", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _continuations);
        AssertWithinLimit();
    }

    [Theory]
    [InlineData("{4294967296+}")]
    [InlineData("{18446744073709551615+}")]
    public async Task ReadCommandAsync_HugeLiteralAfterSyntaxError_LimitInsteadOfSkipping(string literal)
    {
        await WriteAsync($"a LOGIN \"al\\ice\" {literal}\r\n");

        await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_TenThousandParenthesesOverLiterals_LimitWithinLimit()
    {
        // 10,000 "(" in one LOGIN: a line holds only 8 KiB, so they come over continuation lines.
        var parentheses = new string('(', 2000);
        await WriteAsync($"a LOGIN {parentheses}{{0+}}\r\n");
        for (var i = 0; i < 4; i++)
        {
            await WriteAsync($" {parentheses}{{0+}}\r\n");
        }
        await WriteAsync(" x\r\n");

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("nested", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_ParenthesesInOneLine_LimitOnDepth()
    {
        await WriteAsync("a LOGIN " + new string('(', 8000) + "\r\n");

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("nested", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_NestingAtTheLimit_IsRead()
    {
        var depth = ImapCommandReader.MaxNestingDepth;
        var command = await ReadAndAssertAsync($"a ID {new string('(', depth)}x{new string(')', depth)}\r\n");

        Assert.Equal(2 * depth + 1, command.Arguments.Count);
    }

    [Fact]
    public async Task ReadCommandAsync_ManyTokensInOneLine_LimitOnTokens()
    {
        var quoted = string.Concat(Enumerable.Repeat("\"\" ", 2500));
        await WriteAsync($"a ID ({quoted.TrimEnd()})\r\n");

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("arguments", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_ContinuationFlood_LimitOnLiteralsWithinLimit()
    {
        await WriteAsync(ContinuationFlood(5000));

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("literals", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_ContinuationFloodWithAtoms_LimitOnArgumentsWithinLimit()
    {
        await WriteAsync(ContinuationFlood(5000, "x"));

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("arguments", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_ContinuationFloodOfLongLines_LimitOnBytesWithinLimit()
    {
        // Each line just under 8 KiB, one long atom each: bytes run out before literals or tokens do.
        await WriteAsync(ContinuationFlood(100, new string('x', ImapCommandReader.MaxLineLength - 16)));

        var e = await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        Assert.Contains("Command too long", e.Message, StringComparison.Ordinal);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_ContinuationFloodAfterSyntaxError_LimitInsteadOfSkippingForever()
    {
        await WriteAsync("a LOGIN \"al\\ice\" {0+}\r\n");
        await WriteAsync(string.Concat(Enumerable.Repeat(" x {0+}\r\n", 5000)));
        await WriteAsync(" x\r\n");

        await Assert.ThrowsAsync<ImapLimitException>(ReadAsync);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_LargestRealId_IsRead()
    {
        // RFC 2971: up to 30 field/value pairs, each string up to 1024 bytes; here every one a literal.
        var value = new string('v', 1024);
        var text = new StringBuilder("a ID (");
        for (var i = 0; i < 60; i++)
        {
            text.Append(i == 0 ? "" : " ").Append("{1024+}\r\n").Append(value);
        }
        await WriteAsync(text.Append(")\r\n").ToString());

        var command = await ReadAndAssertAsync("");

        Assert.Equal(62, command.Arguments.Count);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_LoginWithTwoLargeLiterals_IsRead()
    {
        var half = new string('p', ImapCommandReader.MaxLiteralLength / 2);
        var command = await ReadAndAssertAsync($"a LOGIN {{{half.Length}+}}\r\n{half} {{{half.Length}+}}\r\n{half}\r\n");

        Assert.Equal(2, command.Arguments.Count);
        AssertWithinLimit();
    }

    [Theory]
    [InlineData("POST / HTTP/1.1")]
    [InlineData("GET /favicon.ico HTTP/1.1")]
    [InlineData("Host: 127.0.0.1:1993")]
    [InlineData("OPTIONS * HTTP/1.1")]
    public async Task ReadCommandAsync_HttpRequestFirst_CrossProtocol(string firstLine)
    {
        await WriteAsync($"{firstLine}\r\nHost: 127.0.0.1:1993\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\na1 LOGIN x y\r\na2 APPEND INBOX {{5+}}\r\nhello\r\n");

        await Assert.ThrowsAsync<CrossProtocolException>(ReadAsync);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_HttpRequestAfterACommand_CrossProtocol()
    {
        await WriteAsync("a1 NOOP\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("NOOP", (await ReadAndAssertAsync("")).Name);

        await Assert.ThrowsAsync<CrossProtocolException>(ReadAsync);
    }

    [Fact]
    public async Task ReadCommandAsync_HttpLookingContinuationLine_IsCommandData()
    {
        // Only a command's first line is checked: a literal's continuation belongs to the command.
        var command = await ReadAndAssertAsync("a LOGIN {4+}\r\nuser host:x\r\n");

        Assert.Equal(["user", "host:x"], command.Arguments.Select(a => a.Text));
    }

    [Theory]
    [InlineData("a LOGIN \"al\rice\" secret\r\n")]
    [InlineData("a LOGIN \"alice\r\n* OK [ALERT] hi\" secret\r\n")]
    [InlineData("a LOGIN \"al\0ice\" secret\r\n")]
    [InlineData("a LOGIN al\u0001ice secret\r\n")]
    [InlineData("a LOGIN al\rice secret\r\n")]
    public async Task ReadCommandAsync_ControlCharacterInUserName_SyntaxErrorAndNextCommandRead(string line)
    {
        await WriteAsync(line + "b NOOP\r\n");

        var e = await Assert.ThrowsAsync<ImapSyntaxException>(ReadAsync);
        Assert.Equal("a", e.Tag);
        // Whatever came before the NOOP was one bad line (or two): the NOOP is read in the end.
        var next = await ReadNextCommandAsync();
        Assert.Equal("NOOP", next.Name);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_TabInQuotedUserName_IsKeptForTheSessionToSanitise()
    {
        // RFC 3501 allows any CHAR but CR, LF and NUL in a quoted string; replies and logs sanitise.
        var command = await ReadAndAssertAsync("a LOGIN \"al\tice\" secret\r\n");

        Assert.Equal("al\tice", command.Arguments[0].Text);
    }

    [Fact]
    public async Task ReadCommandAsync_100KBAuthenticatePlainLine_LineTooLong()
    {
        await WriteAsync("a AUTHENTICATE PLAIN " + new string('A', 100 * 1000) + "\r\n");

        await Assert.ThrowsAsync<LineTooLongException>(ReadAsync);
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadLineAsync_100KBSaslResponse_LineTooLong()
    {
        await WriteAsync(new string('A', 100 * 1000) + "\r\n");

        await Assert.ThrowsAsync<LineTooLongException>(() => _reader.ReadLineAsync(CancellationToken.None).AsTask().Guarded());
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_OneByteAtATime_ReadsTheCommand()
    {
        var pending = ReadAsync();
        foreach (var b in Encoding.ASCII.GetBytes("a LOGIN {5+}\r\nalice \"secret\"\r\n"))
        {
            Assert.False(pending.IsCompleted);
            await _pipe.Writer.WriteAsync(new[] { b });
        }

        var command = await pending;

        Assert.NotNull(command);
        Assert.Equal(["alice", "secret"], command.Arguments.Select(a => a.Text));
        AssertWithinLimit();
    }

    [Fact]
    public async Task ReadCommandAsync_OneByteAtATimeWithoutLineEnd_LineTooLongAfterTheLimit()
    {
        var pending = ReadAsync();
        var sent = 0;
        while (!pending.IsCompleted && sent < 2 * ImapCommandReader.MaxLineLength)
        {
            await _pipe.Writer.WriteAsync("x"u8.ToArray());
            sent++;
        }

        await Assert.ThrowsAsync<LineTooLongException>(() => pending);
        AssertWithinLimit();
    }

    [Fact]
    public async Task RunAsync_ContinuationFlood_ByeAndTheSessionEndsWithoutTheClientClosing()
    {
        var output = await RunImapSessionAsync(ContinuationFlood(5000));

        Assert.Contains("* BYE", output, StringComparison.Ordinal);
        Assert.Contains("literals", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TenThousandParentheses_ByeAndTheSessionEnds()
    {
        var parentheses = new string('(', 2000);
        var output = await RunImapSessionAsync($"a LOGIN {parentheses}{{0+}}\r\n {parentheses}{{0+}}\r\n {parentheses}{{0+}}\r\n {parentheses}{{0+}}\r\n {parentheses}\r\n");

        Assert.Contains("* BYE", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_HttpPost_RefusedAndNothingAfterItRuns()
    {
        var output = await RunImapSessionAsync("POST / HTTP/1.1\r\nHost: 127.0.0.1:1993\r\nContent-Length: 21\r\n\r\na1 CAPABILITY\r\na2 NOOP\r\n");

        Assert.Contains($"* BYE {CrossProtocol.Refusal}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("a1 ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("a2 ", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs a real IMAP session on <paramref name="input"/> without ever completing the client's
    /// side: the session must end by itself. Returns everything it answered.
    /// </summary>
    private async Task<string> RunImapSessionAsync(string input)
    {
        var environment = new SessionHarness(_temp.Path, TimeProvider.System).Environment();
        var (connection, client) = SessionHarness.Connect();
        await client.Output.WriteAsync(Encoding.UTF8.GetBytes(input));
        await new ImapSession(connection, environment, SessionHarness.Imap(), NullLogger.Instance).RunAsync().Guarded();
        await connection.Transport.Output.CompleteAsync();
        var answered = new StringBuilder();
        while (true)
        {
            var result = await client.Input.ReadAsync().AsTask().Guarded();
            answered.Append(Encoding.UTF8.GetString(result.Buffer));
            client.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return answered.ToString();
            }
        }
    }

    private async Task<ImapCommand> ReadAndAssertAsync(string clientBytes)
    {
        await WriteAsync(clientBytes);
        var command = await ReadAsync();
        Assert.NotNull(command);
        return command;
    }

    /// <summary>The next command, reading past syntax errors as the session does.</summary>
    private async Task<ImapCommand> ReadNextCommandAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            try
            {
                return await ReadAndAssertAsync("");
            }
            catch (ImapSyntaxException)
            {
            }
        }
        throw new InvalidOperationException("No command after three syntax errors.");
    }
}
