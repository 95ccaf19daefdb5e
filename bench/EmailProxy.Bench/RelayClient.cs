using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// The relay mode's raw client for IMAP, POP3 and SMTP on one socket (plaintext, or TLS checked against the test CA):
/// lines in and out, and the three transfers with as little client work as they allow (an IMAP literal or a POP3
/// answer is read into one 256 KiB buffer and dropped; DATA is written in 256 KiB writes).
/// </summary>
internal sealed class RelayClient : IAsyncDisposable
{
    private const int BufferSize = 256 * 1024;
    private static readonly byte[] Pop3End = "\r\n.\r\n"u8.ToArray();

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;

    private RelayClient(Stream stream) => _stream = stream;

    public static async Task<RelayClient> ConnectAsync(int port, TestCertificates? tls, CancellationToken cancellationToken) =>
        new(await ClientSocket.ConnectAsync(port, tls, cancellationToken));

    public async Task WriteLineAsync(string line, CancellationToken cancellationToken) =>
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), cancellationToken);

    /// <summary>The next line without its CRLF.</summary>
    public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var index = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (index >= 0)
            {
                var length = index > 0 && _buffer[_start + index - 1] == (byte)'\r' ? index - 1 : index;
                var line = Encoding.Latin1.GetString(_buffer, _start, length);
                _start += index + 1;
                return line;
            }
            Compact();
            if (_end == _buffer.Length)
            {
                throw new InvalidDataException("a line longer than the buffer");
            }
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }
            _end += read;
        }
    }

    /// <summary>Sends an IMAP command and returns its tagged answer; fails unless it is OK.</summary>
    public async Task<string> ImapOkAsync(string tag, string command, CancellationToken cancellationToken)
    {
        await WriteLineAsync($"{tag} {command}", cancellationToken);
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return line.AsSpan(tag.Length + 1).StartsWith("OK", StringComparison.Ordinal) ? line : throw new IOException($"{command.Split(' ')[0]} answered: {line}");
            }
        }
    }

    /// <summary><c>FETCH set BODY[]</c>: the literals' bytes (read and dropped) until the tagged OK.</summary>
    public async Task<long> ImapFetchAsync(string tag, string set, CancellationToken cancellationToken)
    {
        await WriteLineAsync($"{tag} FETCH {set} BODY[]", cancellationToken);
        long total = 0;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return line.AsSpan(tag.Length + 1).StartsWith("OK", StringComparison.Ordinal) ? total : throw new IOException($"FETCH answered: {line}");
            }
            if (line.EndsWith('}') && line.LastIndexOf('{') is var open and >= 0)
            {
                var length = long.Parse(line.AsSpan(open + 1, line.Length - open - 2), NumberStyles.None, CultureInfo.InvariantCulture);
                await SkipAsync(length, cancellationToken);
                total += length;
            }
        }
    }

    /// <summary>Reads a POP3 status line; fails unless it is <c>+OK</c>.</summary>
    public async Task<string> Pop3OkAsync(string command, CancellationToken cancellationToken)
    {
        if (command.Length > 0)
        {
            await WriteLineAsync(command, cancellationToken);
        }
        var line = await ReadLineAsync(cancellationToken);
        return line.StartsWith("+OK", StringComparison.Ordinal) ? line : throw new IOException($"{command.Split(' ')[0]} answered: {line}");
    }

    /// <summary>
    /// <c>RETR n</c>: the multi-line answer's bytes up to its final dot line. The server sends nothing after that line
    /// and a dot-stuffed body never holds CRLF.CRLF, so the answer ends where a read ends with it.
    /// </summary>
    public async Task<long> Pop3RetrAsync(int message, CancellationToken cancellationToken)
    {
        await Pop3OkAsync($"RETR {message}", cancellationToken);
        // The status line's CRLF starts the end mark when the body is empty; keep it as the tail.
        var tail = new byte[Pop3End.Length];
        "\r\n"u8.CopyTo(tail.AsSpan(^2..));
        long total = _end - _start;
        Remember(tail, _buffer.AsSpan(_start, _end - _start));
        _start = _end = 0;
        while (!tail.AsSpan().SequenceEqual(Pop3End))
        {
            var read = await _stream.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("the server closed the connection during RETR");
            }
            total += read;
            Remember(tail, _buffer.AsSpan(0, read));
        }
        return total - 3; // the final ".\r\n" is not the message's
    }

    /// <summary>Reads an SMTP reply (all its lines) and returns its last line; fails unless its code is <paramref name="expected"/>.</summary>
    public async Task<string> SmtpAsync(string? command, int expected, CancellationToken cancellationToken)
    {
        if (command is not null)
        {
            await WriteLineAsync(command, cancellationToken);
        }
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.Length < 4 || line[3] != '-')
            {
                return line.StartsWith(expected.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                    ? line
                    : throw new IOException($"{command?.Split(' ')[0] ?? "greeting"} answered: {line}");
            }
        }
    }

    /// <summary>One SMTP transaction whose DATA is <paramref name="data"/> (already dot-stuffed, ending in CRLF); returns its length.</summary>
    public async Task<long> SmtpSendAsync(string from, string to, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await SmtpAsync($"MAIL FROM:<{from}>", 250, cancellationToken);
        await SmtpAsync($"RCPT TO:<{to}>", 250, cancellationToken);
        await SmtpAsync("DATA", 354, cancellationToken);
        for (var offset = 0; offset < data.Length; offset += BufferSize)
        {
            await _stream.WriteAsync(data.Slice(offset, Math.Min(BufferSize, data.Length - offset)), cancellationToken);
        }
        await _stream.WriteAsync(".\r\n"u8.ToArray(), cancellationToken);
        await SmtpAsync(null, 250, cancellationToken);
        return data.Length;
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    private static void Remember(Span<byte> tail, ReadOnlySpan<byte> data)
    {
        if (data.Length >= tail.Length)
        {
            data[^tail.Length..].CopyTo(tail);
        }
        else if (!data.IsEmpty)
        {
            tail[data.Length..].CopyTo(tail);
            data.CopyTo(tail[^data.Length..]);
        }
    }

    private async Task SkipAsync(long count, CancellationToken cancellationToken)
    {
        var buffered = (int)Math.Min(count, _end - _start);
        _start += buffered;
        count -= buffered;
        while (count > 0)
        {
            var read = await _stream.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException($"the stream ended with {count} bytes of a literal still to come");
            }
            if (read <= count)
            {
                count -= read;
                _start = _end = 0;
            }
            else
            {
                _start = (int)count;
                _end = read;
                count = 0;
            }
        }
    }

    private void Compact()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
    }
}
