using System.Buffers;
using System.IO.Pipelines;

namespace EmailProxy.Connections;

/// <summary>Line-oriented reads on a <see cref="PipeReader"/>, bounded so that no peer can make the proxy buffer without limit.</summary>
internal static class PipeLines
{
    /// <summary>
    /// Reads up to and including the next LF and returns the line without its CRLF (or bare LF);
    /// null when the stream ends first. Throws <see cref="LineTooLongException"/> past <paramref name="maxLength"/>.
    /// Nothing is copied before the line is complete, and each byte is searched for the LF once: a
    /// client that sends its line a byte at a time costs linear work, not quadratic.
    /// </summary>
    public static async ValueTask<byte[]?> ReadLineAsync(this PipeReader reader, int maxLength, CancellationToken cancellationToken)
    {
        long searched = 0;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var newline = buffer.Slice(searched).PositionOf((byte)'\n');
            searched = buffer.Length;
            if (newline is { } end)
            {
                var line = buffer.Slice(0, end);
                if (line.Length > maxLength)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    throw new LineTooLongException(maxLength);
                }
                var bytes = line.ToArray();
                reader.AdvanceTo(buffer.GetPosition(1, end));
                return bytes.Length > 0 && bytes[^1] == '\r' ? bytes[..^1] : bytes;
            }
            if (buffer.Length > maxLength)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw new LineTooLongException(maxLength);
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; null when the stream ends first.</summary>
    public static async ValueTask<byte[]?> ReadExactlyAsync(this PipeReader reader, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length >= count)
            {
                var bytes = buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(buffer.GetPosition(count));
                return bytes;
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>True when bytes are already waiting, without consuming them.</summary>
    public static bool HasBufferedData(this PipeReader reader)
    {
        if (!reader.TryRead(out var result))
        {
            return false;
        }
        var any = !result.Buffer.IsEmpty;
        reader.AdvanceTo(result.Buffer.Start);
        return any;
    }
}
