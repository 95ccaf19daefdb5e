using System.IO.Pipelines;
using EmailProxy.Connections;

namespace EmailProxy.Imap;

/// <summary>
/// Reads the client's commands before login: tag, name and arguments as atoms, quoted strings
/// (with <c>\\</c> and <c>\"</c> escapes) and literals, synchronising <c>{n}</c> (answered with a
/// continuation unless the client already sent the data) and non-synchronising <c>{n+}</c>.
/// Whatever follows the command stays in the pipe for the relay.
/// </summary>
internal sealed class ImapCommandReader(PipeReader reader, Func<CancellationToken, ValueTask> sendContinuation)
{
    public const int MaxLineLength = MailSession.MaxLineLength;
    public const int MaxLiteralLength = 64 * 1024;

    /// <summary>
    /// The most bytes of one command this reader has held at once (its tokens so far plus the line
    /// being read), over the connection's life: what the session reports and tests check against
    /// the reader's limit.
    /// </summary>
    public int PeakHeldBytes { get; private set; }

    /// <summary>The next command; null when the client closed the connection.</summary>
    public async ValueTask<ImapCommand?> ReadCommandAsync(CancellationToken cancellationToken)
    {
        var tokens = new List<ImapToken>();
        var literalBytes = 0;
        var first = true;
        string? tag = null;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }
            if (first && line.Length == 0)
            {
                throw new ImapSyntaxException(null, "Empty command line");
            }
            LiteralSpec? literal;
            try
            {
                literal = Tokenize(line, tokens, continuation: !first, ref tag);
            }
            catch (ImapSyntaxException)
            {
                // RFC 7888: the client sends a {n+} literal without waiting, even for a line the
                // server rejects. Its bytes, and the rest of the command after them, are skipped,
                // never read as the next command.
                var rest = line;
                while (TrailingLiteral(rest) is { NonSynchronizing: true } skipped)
                {
                    literalBytes += skipped.Length > MaxLiteralLength ? MaxLiteralLength + 1 : (int)skipped.Length;
                    if (literalBytes > MaxLiteralLength)
                    {
                        throw new ImapLimitException($"Literal too large: the limit before login is {MaxLiteralLength} bytes");
                    }
                    if (await reader.ReadExactlyAsync((int)skipped.Length, cancellationToken) is null || await ReadLineAsync(cancellationToken) is not { } next)
                    {
                        break;
                    }
                    rest = next;
                }
                throw;
            }
            first = false;
            PeakHeldBytes = Math.Max(PeakHeldBytes, tokens.Sum(t => t.Value.Length) + line.Length);
            if (literal is not { } spec)
            {
                break;
            }
            if (spec.Length > MaxLiteralLength - literalBytes)
            {
                throw new ImapLimitException($"Literal too large: the limit before login is {MaxLiteralLength} bytes");
            }
            literalBytes += (int)spec.Length;
            if (!spec.NonSynchronizing && !reader.HasBufferedData())
            {
                await sendContinuation(cancellationToken);
            }
            var data = await reader.ReadExactlyAsync((int)spec.Length, cancellationToken);
            if (data is null)
            {
                return null;
            }
            tokens.Add(new ImapToken(ImapTokenKind.Literal, data));
        }

        if (tokens.Count < 2 || tokens[0].Kind != ImapTokenKind.Atom || tokens[1].Kind != ImapTokenKind.Atom)
        {
            throw new ImapSyntaxException(tag, "Missing command");
        }
        return new ImapCommand(tokens[0].Text, tokens[1].Text.ToUpperInvariant(), tokens.GetRange(2, tokens.Count - 2));
    }

    /// <summary>A raw line (a SASL response); null at end of stream. Past the limit: <see cref="LineTooLongException"/>.</summary>
    public ValueTask<byte[]?> ReadLineAsync(CancellationToken cancellationToken) => reader.ReadLineAsync(MaxLineLength, cancellationToken);

    private readonly record struct LiteralSpec(long Length, bool NonSynchronizing);

    /// <summary>Splits one line into tokens; returns the literal it announces at its end, if any.</summary>
    private static LiteralSpec? Tokenize(ReadOnlySpan<byte> line, List<ImapToken> tokens, bool continuation, ref string? tag)
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
                    tokens.Add(new ImapToken(ImapTokenKind.Quoted, ReadQuoted(line, ref position, tag)));
                    needSpace = true;
                    break;
                case (byte)'{':
                    var spec = ReadLiteralSpec(line[position..], tag);
                    return spec;
                case (byte)'(':
                    tokens.Add(new ImapToken(ImapTokenKind.ListStart, []));
                    position++;
                    break;
                case (byte)')':
                    tokens.Add(new ImapToken(ImapTokenKind.ListEnd, []));
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
                    tokens.Add(new ImapToken(ImapTokenKind.Atom, line[start..position].ToArray()));
                    if (tokens.Count == 1)
                    {
                        tag = tokens[0].Text;
                    }
                    needSpace = true;
                    break;
            }
        }
        return null;
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

    private static byte[] ReadQuoted(ReadOnlySpan<byte> line, ref int position, string? tag)
    {
        var value = new List<byte>(line.Length - position);
        position++;
        while (position < line.Length)
        {
            var c = line[position++];
            if (c == (byte)'"')
            {
                return [.. value];
            }
            if (c == (byte)'\\')
            {
                if (position >= line.Length || line[position] is not ((byte)'\\' or (byte)'"'))
                {
                    throw new ImapSyntaxException(tag, "Only \\\\ and \\\" may be escaped in a quoted string");
                }
                c = line[position++];
            }
            value.Add(c);
        }
        throw new ImapSyntaxException(tag, "Unterminated quoted string");
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
                throw new ImapLimitException($"Literal too large: the limit before login is {MaxLiteralLength} bytes");
            }
        }
        return new LiteralSpec(length, nonSynchronizing);
    }
}
