using System.Text;

namespace EmailProxy.Bench;

/// <summary>
/// Lines and literals from a stream through one fixed buffer: a line is cut at LF (CR dropped), a literal
/// is skipped by reading straight into the buffer and throwing the bytes away, so a big FETCH costs
/// nothing but the reads themselves.
/// </summary>
internal sealed class WireReader(Stream stream, int bufferSize)
{
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;

    /// <summary>The next line without its CRLF; null when the stream ended.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
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
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new InvalidDataException($"a line longer than {_buffer.Length} bytes");
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                return null;
            }
            _end += read;
        }
    }

    /// <summary>Reads and discards exactly <paramref name="count"/> bytes (an IMAP literal's data).</summary>
    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        var buffered = (int)Math.Min(count, _end - _start);
        _start += buffered;
        count -= buffered;
        while (count > 0)
        {
            // Nothing is buffered here: the whole buffer takes the next read.
            var read = await stream.ReadAsync(_buffer.AsMemory(), cancellationToken);
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
}
