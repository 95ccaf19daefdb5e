using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A fake server's side of one connection, shared by the fake IMAP, POP3 and SMTP servers and the SMTP sink:
/// CRLF lines (and exact byte counts, for IMAP literals) read through a <see cref="PipeReader"/>, lines written
/// with their CRLF, a DATA body read up to its lone dot, and the switch to TLS of STARTTLS / STLS.
/// </summary>
internal sealed class FakeConnection : IAsyncDisposable
{
    private readonly int _maxLine;
    private PipeReader _reader;

    /// <param name="stream">The connection's stream (plaintext, or TLS already); disposed with this.</param>
    /// <param name="maxLine">A longer line ends the session (<see cref="ReadLineBytesAsync"/> answers null).</param>
    public FakeConnection(Stream stream, int maxLine = 64 * 1024)
    {
        Stream = stream;
        IsTls = stream is SslStream;
        _maxLine = maxLine;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    /// <summary>The stream replies are written to (the TLS stream after <see cref="StartTlsAsync"/>).</summary>
    public Stream Stream { get; private set; }

    /// <summary>True once the connection is encrypted (implicit TLS from the start, or after <see cref="StartTlsAsync"/>).</summary>
    public bool IsTls { get; private set; }

    /// <summary>The next line with its LF (and CR) as raw bytes; null at the end of the stream or past the line limit.</summary>
    public async Task<byte[]?> ReadLineBytesAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                var next = buffer.GetPosition(1, end);
                var line = buffer.Slice(0, next).ToArray();
                _reader.AdvanceTo(next);
                return line;
            }

            if (result.IsCompleted || buffer.Length > _maxLine)
            {
                _reader.AdvanceTo(buffer.End);
                return null;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The next line as UTF-8 text without its CRLF (a bare LF also ends a line); null at the end of the stream.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        await ReadLineBytesAsync(cancellationToken) is { } line ? Encoding.UTF8.GetString(line).TrimEnd('\n').TrimEnd('\r') : null;

    /// <summary>Exactly <paramref name="count"/> bytes (an IMAP literal).</summary>
    public async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var result = await _reader.ReadAtLeastAsync(count, cancellationToken);
        var buffer = result.Buffer;
        if (buffer.Length < count)
        {
            _reader.AdvanceTo(buffer.End);
            throw new EndOfStreamException("Connection closed inside a literal.");
        }

        var bytes = buffer.Slice(0, count).ToArray();
        _reader.AdvanceTo(buffer.GetPosition(count));
        return bytes;
    }

    /// <summary>
    /// An SMTP DATA body up to the lone dot, dot-stuffing undone (RFC 5321 4.5.2); the CRLF before the dot belongs
    /// to the message. Null if the connection closed first.
    /// </summary>
    public async Task<byte[]?> ReadDataAsync(CancellationToken cancellationToken)
    {
        using var data = new MemoryStream();
        while (await ReadLineBytesAsync(cancellationToken) is { } line)
        {
            if (line.AsSpan().SequenceEqual(".\r\n"u8))
            {
                return data.ToArray();
            }

            var start = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0;
            data.Write(line, start, line.Length - start);
        }

        return null;
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8; several lines joined by CRLF allowed) and a CRLF, then flushes.</summary>
    public Task WriteLineAsync(string text, CancellationToken cancellationToken) => WriteAsync(Encoding.UTF8.GetBytes(text + "\r\n"), cancellationToken);

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await Stream.WriteAsync(bytes, cancellationToken);
        await Stream.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// STARTTLS / STLS: nothing read ahead of the handshake is kept, the handshake runs over the current stream, and
    /// lines are read from the TLS stream after it. False when the handshake failed (counted by <paramref name="tls"/>).
    /// </summary>
    public async Task<bool> StartTlsAsync(FakeTlsAcceptor tls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tls);
        await _reader.CompleteAsync();
        var secure = await tls.AcceptAsync(Stream, cancellationToken);
        if (secure is null)
        {
            return false;
        }

        Stream = secure;
        _reader = PipeReader.Create(secure, new StreamPipeReaderOptions(leaveOpen: true));
        IsTls = true;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        await Stream.DisposeAsync();
    }
}
