using System.IO.Pipelines;
using System.Text;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Imap;

public sealed class ImapCommandReaderTests
{
    // No back-pressure: a test may write a whole 64 KiB literal before the reader runs.
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
    private readonly TaskCompletionSource _continuationSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ImapCommandReader _reader;
    private int _continuations;

    public ImapCommandReaderTests()
    {
        _reader = new ImapCommandReader(_pipe.Reader, _ =>
        {
            Interlocked.Increment(ref _continuations);
            _continuationSent.TrySetResult();
            return ValueTask.CompletedTask;
        });
    }

    private async Task WriteAsync(string text) => await WriteAsync(Encoding.UTF8.GetBytes(text));

    private async Task WriteAsync(byte[] bytes) => await _pipe.Writer.WriteAsync(bytes);

    private async Task<ImapCommand> ReadAsync(string clientBytes)
    {
        await WriteAsync(clientBytes);
        var command = await _reader.ReadCommandAsync(CancellationToken.None).Guarded();
        Assert.NotNull(command);
        return command;
    }

    private static string[] Texts(ImapCommand command) => [.. command.Arguments.Select(a => a.Text)];

    [Fact]
    public async Task ReadCommandAsync_LoginWithAtoms_ReturnsTagNameAndArguments()
    {
        var command = await ReadAsync("a1 LOGIN alice secret\r\n");

        Assert.Equal("a1", command.Tag);
        Assert.Equal("LOGIN", command.Name);
        Assert.Equal(["alice", "secret"], Texts(command));
        Assert.All(command.Arguments, a => Assert.Equal(ImapTokenKind.Atom, a.Kind));
        Assert.Equal(0, _continuations);
    }

    [Fact]
    public async Task ReadCommandAsync_LowerCaseNameAndBareLf_NameIsUpperCased()
    {
        var command = await ReadAsync("TAG1 login alice secret\n");

        Assert.Equal("TAG1", command.Tag);
        Assert.Equal("LOGIN", command.Name);
        Assert.Equal(["alice", "secret"], Texts(command));
    }

    [Fact]
    public async Task ReadCommandAsync_QuotedWithEscapes_Unescapes()
    {
        var command = await ReadAsync("a LOGIN \"us\\\\er\" \"p\\\"w\"\r\n");

        Assert.Equal(["us\\er", "p\"w"], Texts(command));
        Assert.All(command.Arguments, a => Assert.Equal(ImapTokenKind.Quoted, a.Kind));
    }

    [Fact]
    public async Task ReadCommandAsync_EmptyQuotedString_IsEmptyArgument()
    {
        var command = await ReadAsync("a LOGIN \"user@example.com\" \"\"\r\n");

        Assert.Equal(["user@example.com", ""], Texts(command));
    }

    [Fact]
    public async Task ReadCommandAsync_SynchronisingLiteralDataNotYetSent_SendsContinuationThenCompletes()
    {
        await WriteAsync("a LOGIN {5}\r\n");

        var pending = _reader.ReadCommandAsync(CancellationToken.None).AsTask();
        await _continuationSent.Task.Guarded();
        Assert.False(pending.IsCompleted);
        Assert.Equal(1, _continuations);

        await WriteAsync("alice \"secret\"\r\n");
        var command = await pending.Guarded();

        Assert.NotNull(command);
        Assert.Equal(["alice", "secret"], Texts(command));
        Assert.Equal(ImapTokenKind.Literal, command.Arguments[0].Kind);
        Assert.Equal(ImapTokenKind.Quoted, command.Arguments[1].Kind);
        Assert.Equal(1, _continuations);
    }

    [Fact]
    public async Task ReadCommandAsync_SynchronisingLiteralDataAlreadySent_NoContinuation()
    {
        var command = await ReadAsync("a LOGIN {5}\r\nalice {6}\r\nsecret\r\n");

        Assert.Equal(["alice", "secret"], Texts(command));
        Assert.All(command.Arguments, a => Assert.Equal(ImapTokenKind.Literal, a.Kind));
        Assert.Equal(0, _continuations);
    }

    [Fact]
    public async Task ReadCommandAsync_NonSynchronisingLiteral_NeverSendsContinuation()
    {
        await WriteAsync("a LOGIN {5+}\r\n");

        var pending = _reader.ReadCommandAsync(CancellationToken.None).AsTask();
        Assert.False(pending.IsCompleted);
        Assert.Equal(0, _continuations);

        await WriteAsync("alice {6+}\r\n");
        Assert.False(pending.IsCompleted);
        await WriteAsync("secret\r\n");
        var command = await pending.Guarded();

        Assert.NotNull(command);
        Assert.Equal(["alice", "secret"], Texts(command));
        Assert.Equal(0, _continuations);
    }

    [Fact]
    public async Task ReadCommandAsync_QuotedThenLiteral_Mixes()
    {
        var command = await ReadAsync("a LOGIN \"alice@example.com\" {8+}\r\np\"w \\ {}\r\n");

        Assert.Equal(["alice@example.com", "p\"w \\ {}"], Texts(command));
        Assert.Equal(ImapTokenKind.Quoted, command.Arguments[0].Kind);
        Assert.Equal(ImapTokenKind.Literal, command.Arguments[1].Kind);
    }

    [Fact]
    public async Task ReadCommandAsync_LiteralWithCrLfInside_KeepsBytes()
    {
        var command = await ReadAsync("a LOGIN alice {4+}\r\na\r\nb\r\n");

        Assert.Equal(["alice", "a\r\nb"], Texts(command));
    }

    [Fact]
    public async Task ReadCommandAsync_Utf8PasswordQuotedAndLiteral_DecodesUtf8()
    {
        const string password = "pässwörd✓";
        var length = Encoding.UTF8.GetByteCount(password);

        var quoted = await ReadAsync($"a LOGIN jürgen \"{password}\"\r\n");
        var literal = await ReadAsync($"b LOGIN jürgen {{{length}+}}\r\n{password}\r\n");

        Assert.Equal(["jürgen", password], Texts(quoted));
        Assert.Equal(["jürgen", password], Texts(literal));
        Assert.Equal(Encoding.UTF8.GetBytes(password), literal.Arguments[1].Value);
    }

    [Fact]
    public async Task ReadCommandAsync_LiteralOfExactly64KiB_IsAccepted()
    {
        var data = new byte[ImapCommandReader.MaxLiteralLength];
        Array.Fill(data, (byte)'x');
        await WriteAsync($"a LOGIN alice {{{data.Length}+}}\r\n");
        await WriteAsync(data);

        var command = await ReadAsync("\r\n");

        Assert.Equal(65536, command.Arguments[1].Value.Length);
    }

    [Theory]
    [InlineData("65537")]
    [InlineData("65537+")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999")]
    [InlineData("99999999999999999999+")]
    public async Task ReadCommandAsync_LiteralOverLimit_ThrowsLimit(string size)
    {
        await WriteAsync($"a LOGIN alice {{{size}}}\r\n");

        await Assert.ThrowsAsync<ImapLimitException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
        Assert.Equal(0, _continuations);
    }

    [Fact]
    public async Task ReadCommandAsync_LiteralsTogetherOverLimit_ThrowsLimit()
    {
        var half = new byte[40 * 1024];
        await WriteAsync($"a LOGIN {{{half.Length}+}}\r\n");
        await WriteAsync(half);
        await WriteAsync($" {{{half.Length}+}}\r\n");

        await Assert.ThrowsAsync<ImapLimitException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task ReadCommandAsync_LineOver8KiB_ThrowsLimit()
    {
        await WriteAsync("a LOGIN alice " + new string('x', 9000) + "\r\n");

        await Assert.ThrowsAsync<LineTooLongException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task ReadCommandAsync_Over8KiBWithoutNewline_ThrowsLimitWithoutWaitingForMore()
    {
        await WriteAsync("a LOGIN alice " + new string('x', 9000));

        await Assert.ThrowsAsync<LineTooLongException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task ReadCommandAsync_EmptyLine_ThrowsSyntaxWithoutTag()
    {
        await WriteAsync("\r\n");

        var e = await Assert.ThrowsAsync<ImapSyntaxException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
        Assert.Null(e.Tag);
    }

    [Theory]
    [InlineData("a LOGIN \"alice\r\n")]
    [InlineData("a LOGIN \"al\\ice\" secret\r\n")]
    [InlineData("a LOGIN \"alice\"\"secret\"\r\n")]
    [InlineData("a LOGIN  alice secret\r\n")]
    [InlineData("a LOGIN alice {5\r\n")]
    [InlineData("a LOGIN alice {}\r\n")]
    [InlineData("a LOGIN alice {5x}\r\n")]
    [InlineData("a LOGIN alice {5} secret\r\n")]
    [InlineData("a\r\n")]
    public async Task ReadCommandAsync_BadSyntax_ThrowsSyntaxWithTag(string line)
    {
        await WriteAsync(line);

        var e = await Assert.ThrowsAsync<ImapSyntaxException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());
        Assert.Equal("a", e.Tag);
    }

    [Fact]
    public async Task ReadCommandAsync_AfterSyntaxError_NextCommandIsRead()
    {
        await WriteAsync("a LOGIN \"al\\ice\" secret\r\nb NOOP\r\n");
        await Assert.ThrowsAsync<ImapSyntaxException>(() => _reader.ReadCommandAsync(CancellationToken.None).Guarded());

        var command = await _reader.ReadCommandAsync(CancellationToken.None).Guarded();

        Assert.NotNull(command);
        Assert.Equal("b", command.Tag);
        Assert.Equal("NOOP", command.Name);
        Assert.Empty(command.Arguments);
    }

    [Fact]
    public async Task ReadCommandAsync_IdWithList_ParsesListAndStrings()
    {
        var command = await ReadAsync("a ID (\"name\" \"Thunderbird\" \"version\" \"1\")\r\n");

        Assert.Equal("ID", command.Name);
        Assert.Equal(
            [ImapTokenKind.ListStart, ImapTokenKind.Quoted, ImapTokenKind.Quoted, ImapTokenKind.Quoted, ImapTokenKind.Quoted, ImapTokenKind.ListEnd],
            command.Arguments.Select(a => a.Kind));
        Assert.Equal(["name", "Thunderbird", "version", "1"], command.Arguments.Where(a => a.IsString).Select(a => a.Text));
    }

    [Fact]
    public async Task ReadCommandAsync_IdNil_ParsesAtom()
    {
        var command = await ReadAsync("a ID NIL\r\n");

        Assert.Equal("ID", command.Name);
        var argument = Assert.Single(command.Arguments);
        Assert.Equal(ImapTokenKind.Atom, argument.Kind);
        Assert.Equal("NIL", argument.Text);
    }

    [Fact]
    public async Task ReadCommandAsync_CommandPipelinedBehindLogin_StaysInPipe()
    {
        var command = await ReadAsync("a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 BODY[]\r\n");

        Assert.Equal("LOGIN", command.Name);
        Assert.True(_pipe.Reader.TryRead(out var rest));
        Assert.Equal("b SELECT INBOX\r\nc FETCH 1 BODY[]\r\n", Encoding.UTF8.GetString(rest.Buffer));
        _pipe.Reader.AdvanceTo(rest.Buffer.Start);
    }

    [Fact]
    public async Task ReadCommandAsync_CommandPipelinedBehindLiteral_StaysInPipe()
    {
        var command = await ReadAsync("a LOGIN alice {6}\r\nsecret\r\nb SELECT INBOX\r\n");

        Assert.Equal(["alice", "secret"], Texts(command));
        Assert.True(_pipe.Reader.TryRead(out var rest));
        Assert.Equal("b SELECT INBOX\r\n", Encoding.UTF8.GetString(rest.Buffer));
        _pipe.Reader.AdvanceTo(rest.Buffer.Start);
    }

    [Theory]
    [InlineData("a LOGIN al")]
    [InlineData("a LOGIN alice {6+}\r\nsec")]
    [InlineData("")]
    public async Task ReadCommandAsync_EndOfStreamMidCommand_ReturnsNull(string clientBytes)
    {
        await WriteAsync(clientBytes);
        await _pipe.Writer.CompleteAsync();

        var command = await _reader.ReadCommandAsync(CancellationToken.None).Guarded();

        Assert.Null(command);
    }

    [Fact]
    public async Task ReadCommandAsync_EndOfStreamWhileWaitingForLiteral_ReturnsNull()
    {
        await WriteAsync("a LOGIN alice {6}\r\n");
        var pending = _reader.ReadCommandAsync(CancellationToken.None).AsTask();
        await _continuationSent.Task.Guarded();

        await _pipe.Writer.CompleteAsync();

        Assert.Null(await pending.Guarded());
    }

    [Fact]
    public async Task ReadLineAsync_SaslResponse_ReturnsLineWithoutCrLf()
    {
        await WriteAsync("AGFsaWNlAHNlY3JldA==\r\n=\r\n");

        var first = await _reader.ReadLineAsync(CancellationToken.None).Guarded();
        var second = await _reader.ReadLineAsync(CancellationToken.None).Guarded();

        Assert.Equal("AGFsaWNlAHNlY3JldA==", Encoding.ASCII.GetString(first!));
        Assert.Equal("=", Encoding.ASCII.GetString(second!));
    }

    [Fact]
    public async Task ReadLineAsync_EmptyLine_ReturnsEmpty()
    {
        await WriteAsync("\r\n");

        var line = await _reader.ReadLineAsync(CancellationToken.None).Guarded();

        Assert.NotNull(line);
        Assert.Empty(line);
    }

    [Fact]
    public async Task ReadLineAsync_EndOfStream_ReturnsNull()
    {
        await WriteAsync("AGFsaWNl");
        await _pipe.Writer.CompleteAsync();

        Assert.Null(await _reader.ReadLineAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task ReadLineAsync_LineOver8KiB_ThrowsLimit()
    {
        await WriteAsync(new string('A', 9000) + "\r\n");

        await Assert.ThrowsAsync<LineTooLongException>(() => _reader.ReadLineAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task PeakHeldBytes_LoginWithLiteral_CountsTokensLiteralAndTheLineBeingRead()
    {
        await ReadAsync("a LOGIN {5+}\r\nalice secret\r\n");

        // At most: the tokens "a", "LOGIN", "alice" (literal) and "secret" (17) with the line " secret" (7).
        Assert.Equal(24, _reader.PeakHeldBytes);
    }

    [Fact]
    public async Task PeakHeldBytes_SaslResponseLine_IsCounted()
    {
        await WriteAsync(new string('A', 5000) + "\r\n");

        await _reader.ReadLineAsync(CancellationToken.None).Guarded();

        Assert.Equal(5000, _reader.PeakHeldBytes);
    }

    [Fact]
    public void ImapToken_ToString_DoesNotShowValue()
    {
        var token = new ImapToken(ImapTokenKind.Quoted, Encoding.UTF8.GetBytes("secret"));

        Assert.DoesNotContain("secret", token.ToString(), StringComparison.Ordinal);
    }
}
