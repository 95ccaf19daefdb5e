using System.IO.Pipelines;
using EmailProxy.Connections;

namespace EmailProxy.Imap;

/// <summary>
/// Reads the client's commands before login: tag, name and arguments as atoms, quoted strings
/// (with <c>\\</c> and <c>\"</c> escapes) and literals, synchronising <c>{n}</c> (answered with a
/// continuation unless the client already sent the data) and non-synchronising <c>{n+}</c>.
/// Whatever follows the command stays in the pipe for the relay.
/// </summary>
/// <remarks>
/// Everything one command may hold is bounded, whatever the client sends: its lines and literals
/// together (<see cref="MaxCommandLength"/>), its literals (<see cref="MaxLiteralLength"/>,
/// <see cref="MaxLiteralsPerCommand"/>), its tokens (<see cref="MaxTokensPerCommand"/>) and its
/// parentheses (<see cref="MaxNestingDepth"/>). Past one of them the reader throws an
/// <see cref="ImapLimitException"/> (the session answers BYE and closes); a line that is merely not
/// IMAP is an <see cref="ImapSyntaxException"/> (BAD, and the session reads on). A command's first
/// line that looks like HTTP is a <see cref="CrossProtocolException"/>: a browser was made to post
/// to the mail port.
/// </remarks>
internal sealed class ImapCommandReader(PipeReader reader, Func<CancellationToken, ValueTask> sendContinuation)
{
    /// <summary>One line of a command (without its CRLF), or one SASL response.</summary>
    public const int MaxLineLength = MailSession.MaxLineLength;

    /// <summary>
    /// The literals of one command together (DESIGN.md: 64 KiB before login): a LOGIN may send its
    /// user name and password as two literals of 32 KiB, or one of 64 KiB.
    /// </summary>
    public const int MaxLiteralLength = 64 * 1024;

    /// <summary>
    /// One command's lines (without CRLF) and literals together: the largest literals plus room for
    /// the command's own text, so that every real LOGIN, ID or AUTHENTICATE fits.
    /// </summary>
    public const int MaxCommandLength = MaxLiteralLength + 32 * 1024;

    /// <summary>
    /// Literals in one command, and so continuation lines: RFC 2971's largest ID (30 field/value
    /// pairs, every one a literal) needs 60.
    /// </summary>
    public const int MaxLiteralsPerCommand = 128;

    /// <summary>Tokens in one command (tag, name, strings, parentheses): the largest ID needs 64.</summary>
    public const int MaxTokensPerCommand = 256;

    /// <summary>Parentheses open at once: nothing answered before login nests deeper than 1 (ID).</summary>
    public const int MaxNestingDepth = 8;

    /// <summary>
    /// The most bytes the reader holds for one command (see <see cref="PeakHeldBytes"/>): the
    /// command's bytes, plus the copy of one line while it is split into tokens.
    /// </summary>
    public const int MaxHeldBytes = MaxCommandLength + MaxLineLength;

    private readonly List<ImapToken> _tokens = [];
    private int _tokenBytes;
    private int _depth;

    /// <summary>
    /// The most bytes of one command this reader has held at once over the connection's life: its
    /// tokens so far (strings and literal data) plus the line being read, or a SASL response line.
    /// The transport's own buffer is not counted (it is bounded by the line limit while a line is
    /// read). Never more than <see cref="MaxHeldBytes"/>; what the session reports and tests check.
    /// </summary>
    public int PeakHeldBytes { get; private set; }

    /// <summary>The next command; null when the client closed the connection.</summary>
    public async ValueTask<ImapCommand?> ReadCommandAsync(CancellationToken cancellationToken)
    {
        _tokens.Clear();
        _tokenBytes = 0;
        _depth = 0;
        try
        {
            return await ReadCommandCoreAsync(cancellationToken);
        }
        finally
        {
            // The command's bytes are the session's now (or dropped): none are kept for the next one.
            _tokens.Clear();
            _tokenBytes = 0;
        }
    }

    /// <summary>A raw line (a SASL response); null at end of stream. Past the limit: <see cref="LineTooLongException"/>.</summary>
    public async ValueTask<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(MaxLineLength, cancellationToken);
        PeakHeldBytes = Math.Max(PeakHeldBytes, line?.Length ?? 0);
        return line;
    }

    private async ValueTask<ImapCommand?> ReadCommandCoreAsync(CancellationToken cancellationToken)
    {
        var commandBytes = 0;
        var literalBytes = 0;
        var literals = 0;
        var first = true;
        string? tag = null;
        while (true)
        {
            var line = await reader.ReadLineAsync(MaxLineLength, cancellationToken);
            if (line is null)
            {
                return null;
            }
            Hold(line.Length);
            if (first && CrossProtocol.LooksLikeHttp(line))
            {
                throw new CrossProtocolException();
            }
            if (first && line.Length == 0)
            {
                throw new ImapSyntaxException(null, "Empty command line");
            }
            commandBytes += line.Length;
            if (commandBytes > MaxCommandLength)
            {
                throw CommandTooLong();
            }
            LiteralSpec? literal;
            try
            {
                literal = Tokenize(line, continuation: !first, ref tag);
            }
            catch (ImapSyntaxException)
            {
                await SkipRestOfCommandAsync(line, literalBytes, literals, cancellationToken);
                throw;
            }
            Hold(line.Length);
            first = false;
            if (literal is not { } spec)
            {
                break;
            }
            if (++literals > MaxLiteralsPerCommand)
            {
                throw TooManyLiterals();
            }
            if (spec.Length > MaxLiteralLength - literalBytes)
            {
                throw LiteralTooLarge();
            }
            if (spec.Length > MaxCommandLength - commandBytes)
            {
                throw CommandTooLong();
            }
            literalBytes += (int)spec.Length;
            commandBytes += (int)spec.Length;
            if (!spec.NonSynchronizing && !reader.HasBufferedData())
            {
                await sendContinuation(cancellationToken);
            }
            var data = await reader.ReadExactlyAsync((int)spec.Length, cancellationToken);
            if (data is null)
            {
                return null;
            }
            AddToken(ImapTokenKind.Literal, data);
            Hold(0);
        }

        if (_tokens.Count < 2 || _tokens[0].Kind != ImapTokenKind.Atom || _tokens[1].Kind != ImapTokenKind.Atom)
        {
            throw new ImapSyntaxException(tag, "Missing command");
        }
        return new ImapCommand(_tokens[0].Text, _tokens[1].Text.ToUpperInvariant(), _tokens.GetRange(2, _tokens.Count - 2));
    }

    /// <summary>
    /// RFC 7888: the client sends a {n+} literal without waiting, even for a line the server
    /// rejects. Its bytes, and the rest of the command after them, are skipped, never read as the
    /// next command; nothing is held, but the command's limits on literals still apply.
    /// </summary>
    private async ValueTask SkipRestOfCommandAsync(byte[] line, int literalBytes, int literals, CancellationToken cancellationToken)
    {
        _tokens.Clear();
        _tokenBytes = 0;
        var rest = line;
        while (TrailingLiteral(rest) is { NonSynchronizing: true } skipped)
        {
            if (++literals > MaxLiteralsPerCommand)
            {
                throw TooManyLiterals();
            }
            if (skipped.Length > MaxLiteralLength - literalBytes)
            {
                throw LiteralTooLarge();
            }
            literalBytes += (int)skipped.Length;
            if (await reader.ReadExactlyAsync((int)skipped.Length, cancellationToken) is not { } data)
            {
                return;
            }
            Hold(data.Length);
            if (await reader.ReadLineAsync(MaxLineLength, cancellationToken) is not { } next)
            {
                return;
            }
            Hold(next.Length);
            rest = next;
        }
    }

    /// <summary>Records what the reader holds now: its tokens plus <paramref name="transient"/> bytes (the line being read).</summary>
    private void Hold(int transient) => PeakHeldBytes = Math.Max(PeakHeldBytes, _tokenBytes + transient);

    private void AddToken(ImapTokenKind kind, byte[] value)
    {
        if (_tokens.Count >= MaxTokensPerCommand)
        {
            throw new ImapLimitException($"Too many arguments: one command may hold {MaxTokensPerCommand} before login");
        }
        _tokens.Add(new ImapToken(kind, value));
        _tokenBytes += value.Length;
    }

    private static ImapLimitException CommandTooLong() =>
        new($"Command too long: its lines and literals may hold {MaxCommandLength} bytes before login");

    private static ImapLimitException LiteralTooLarge() =>
        new($"Literal too large: the literals of one command may hold {MaxLiteralLength} bytes before login");

    private static ImapLimitException TooManyLiterals() =>
        new($"Too many literals: one command may send {MaxLiteralsPerCommand} before login");

    private readonly record struct LiteralSpec(long Length, bool NonSynchronizing);

    /// <summary>Splits one line into tokens; returns the literal it announces at its end, if any.</summary>
    private LiteralSpec? Tokenize(ReadOnlySpan<byte> line, bool continuation, ref string? tag)
    {
        var position = 0;
        var needSpace = continuation;
        while (position < line.Length)
        {
            if (needSpace)
            {
                needSpace = false;
                if (line[position] == (byte)' ')
                {
                    position++;
                    continue;
                }
                if (line[position] != (byte)')')
                {
                    throw new ImapSyntaxException(tag, "Missing space between arguments");
                }
            }
            var c = line[position];
            switch (c)
            {
                case (byte)'"':
                    AddToken(ImapTokenKind.Quoted, ReadQuoted(line, ref position, tag));
                    needSpace = true;
                    break;
                case (byte)'{':
                    var spec = ReadLiteralSpec(line[position..], tag);
                    return spec;
                case (byte)'(':
                    if (++_depth > MaxNestingDepth)
                    {
                        throw new ImapLimitException($"Lists nested too deeply: {MaxNestingDepth} levels at most before login");
                    }
                    AddToken(ImapTokenKind.ListStart, []);
                    position++;
                    break;
                case (byte)')':
                    // An unmatched ")" is left to the command's own checks; it never buys depth.
                    _depth = Math.Max(0, _depth - 1);
                    AddToken(ImapTokenKind.ListEnd, []);
                    position++;
                    needSpace = true;
                    break;
                case (byte)' ':
                    throw new ImapSyntaxException(tag, "Unexpected space");
                default:
                    var start = position;
                    while (position < line.Length && line[position] is not ((byte)' ' or (byte)'(' or (byte)')' or (byte)'"' or (byte)'{'))
                    {
                        if (line[position] < 0x20 || line[position] == 0x7f)
                        {
                            throw new ImapSyntaxException(tag, "Control character in an atom");
                        }
                        position++;
                    }
                    if (_tokens.Count == 0 && !IsTag(line[start..position]))
                    {
                        throw new ImapSyntaxException(null, "Bad tag: a tag is printable ASCII without + * % or \\");
                    }
                    AddToken(ImapTokenKind.Atom, line[start..position].ToArray());
                    if (_tokens.Count == 1)
                    {
                        tag = _tokens[0].Text;
                    }
                    needSpace = true;
                    break;
            }
        }
        return null;
    }

    /// <summary>
    /// RFC 3501's tag: ASTRING-CHARs but <c>+</c>, so printable ASCII without <c>+ * % \</c> (the
    /// delimiters never reach here). Echoed in every answer, a tag is never a client's means to put
    /// anything else in a reply line: no non-ASCII, no direction marks.
    /// </summary>
    private static bool IsTag(ReadOnlySpan<byte> atom)
    {
        foreach (var c in atom)
        {
            if (c is < 0x21 or > 0x7e or (byte)'+' or (byte)'*' or (byte)'%' or (byte)'\\')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The literal a line announces at its very end, even when the rest of the line is not IMAP.</summary>
    private static LiteralSpec? TrailingLiteral(ReadOnlySpan<byte> line)
    {
        var open = line.LastIndexOf((byte)'{');
        if (open < 0 || line.Length - open < 3 || line[^1] != (byte)'}')
        {
            return null;
        }
        try
        {
            return ReadLiteralSpec(line[open..], null);
        }
        catch (ImapSyntaxException)
        {
            return null;
        }
        catch (ImapLimitException)
        {
            return new LiteralSpec(long.MaxValue, line[^2] == (byte)'+');
        }
    }

    /// <summary>
    /// A quoted string from its opening quote, unescaped. RFC 3501 allows any character but CR, LF
    /// and NUL in it; the others (tab, UTF-8) are kept and sanitised wherever a reply or log shows them.
    /// </summary>
    private static byte[] ReadQuoted(ReadOnlySpan<byte> line, ref int position, string? tag)
    {
        // First find the end and the length, then copy once: no buffer sized to the rest of the line per string.
        var length = 0;
        var end = position + 1;
        while (true)
        {
            if (end >= line.Length)
            {
                throw new ImapSyntaxException(tag, "Unterminated quoted string");
            }
            var c = line[end];
            if (c == (byte)'"')
            {
                break;
            }
            if (c is (byte)'\r' or (byte)'\n' or 0)
            {
                throw new ImapSyntaxException(tag, "CR, LF and NUL are not allowed in a quoted string");
            }
            if (c == (byte)'\\')
            {
                if (end + 1 >= line.Length || line[end + 1] is not ((byte)'\\' or (byte)'"'))
                {
                    throw new ImapSyntaxException(tag, "Only \\\\ and \\\" may be escaped in a quoted string");
                }
                end++;
            }
            end++;
            length++;
        }
        var value = new byte[length];
        var at = 0;
        for (var i = position + 1; i < end; i++)
        {
            if (line[i] == (byte)'\\')
            {
                i++;
            }
            value[at++] = line[i];
        }
        position = end + 1;
        return value;
    }

    private static LiteralSpec ReadLiteralSpec(ReadOnlySpan<byte> text, string? tag)
    {
        // text is "{digits}" or "{digits+}" and must end the line.
        if (text.Length < 3 || text[^1] != (byte)'}')
        {
            throw new ImapSyntaxException(tag, "A literal must end the line: {n} or {n+}");
        }
        var inner = text[1..^1];
        var nonSynchronizing = inner.Length > 0 && inner[^1] == (byte)'+';
        if (nonSynchronizing)
        {
            inner = inner[..^1];
        }
        if (inner.IsEmpty)
        {
            throw new ImapSyntaxException(tag, "Bad literal length");
        }
        long length = 0;
        foreach (var digit in inner)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                throw new ImapSyntaxException(tag, "Bad literal length");
            }
            length = length * 10 + (digit - '0');
            if (length > MaxLiteralLength)
            {
                throw LiteralTooLarge();
            }
        }
        return new LiteralSpec(length, nonSynchronizing);
    }
}
