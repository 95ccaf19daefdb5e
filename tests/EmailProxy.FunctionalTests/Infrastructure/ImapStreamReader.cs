using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>Buffered reading of CRLF lines and exact byte counts (literals) from a stream.</summary>
internal sealed class ImapStreamReader(Stream stream)
{
    private const int MaxLineLength = 1024 * 1024;

    private readonly Stream _stream = stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>Reads one line without its CRLF (a bare LF also ends a line); null at end of stream.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                return line.Length == 0 ? null : Encoding.UTF8.GetString(line.ToArray());
            }

            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline < 0)
            {
                line.Write(_buffer, _start, _end - _start);
                _start = _end;
                if (line.Length > MaxLineLength)
                {
                    throw new InvalidDataException("IMAP line too long.");
                }

                continue;
            }

            line.Write(_buffer, _start, newline - _start);
            _start = newline + 1;
            var bytes = line.ToArray();
            var length = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
            return Encoding.UTF8.GetString(bytes, 0, length);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var offset = 0;
        while (offset < count)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                throw new EndOfStreamException("Connection closed inside a literal.");
            }

            var take = Math.Min(count - offset, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, offset, take);
            _start += take;
            offset += take;
        }

        return result;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        return _end > 0;
    }
}
