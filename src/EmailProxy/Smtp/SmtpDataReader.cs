using System.Buffers;
using System.IO.Pipelines;

namespace EmailProxy.Smtp;

/// <summary>
/// Reads the content of an SMTP DATA command (RFC 5321 4.5.2) from the client's pipe, as it comes:
/// a line's leading dot is removed (dot-unstuffing), and the line that is a lone dot ends it. Every
/// other byte (CRLF, 8-bit, binary, long lines) passes unchanged to the sink, in pieces as large as
/// what the pipe holds. Past <paramref name="limit"/> bytes the rest is read and dropped, so that
/// the client's end of data is still found and answered.
/// </summary>
internal static class SmtpDataReader
{
    private enum State
    {
        InLine,
        LineStart,
        Dot,
        DotCr,
    }

    /// <summary>The message's size after unstuffing (counted whole, even past the limit).</summary>
    /// <exception cref="IOException">The client closed the connection before the end of data.</exception>
    public static async Task<long> ReadAsync(PipeReader input, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, long limit, CancellationToken cancellationToken)
    {
        var state = State.LineStart;
        long total = 0;
        var output = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var consumed = buffer.End;
            var ended = false;
            output.ResetWrittenCount();
            long before = 0;
            foreach (var segment in buffer)
            {
                var span = segment.Span;
                var i = 0;
                while (i < span.Length && !ended)
                {
                    switch (state)
                    {
                        case State.InLine:
                            var newline = span[i..].IndexOf((byte)'\n');
                            var end = newline < 0 ? span.Length : i + newline + 1;
                            output.Write(span[i..end]);
                            i = end;
                            if (newline >= 0)
                            {
                                state = State.LineStart;
                            }
                            break;
                        case State.LineStart:
                            if (span[i] == '.')
                            {
                                state = State.Dot;
                                i++;
                            }
                            else
                            {
                                state = State.InLine;
                            }
                            break;
                        case State.Dot:
                            if (span[i] == '\r')
                            {
                                state = State.DotCr;
                                i++;
                            }
                            else
                            {
                                // A stuffed dot: dropped, the rest of the line is content.
                                state = State.InLine;
                            }
                            break;
                        case State.DotCr:
                            if (span[i] == '\n')
                            {
                                ended = true;
                                i++;
                                consumed = buffer.GetPosition(before + i);
                            }
                            else
                            {
                                // ".\r" then something else: the dot was stuffed, the CR is content.
                                output.Write("\r"u8);
                                state = State.InLine;
                            }
                            break;
                    }
                }
                if (ended)
                {
                    break;
                }
                before += span.Length;
            }
            var written = output.WrittenMemory;
            if (total < limit && written.Length > 0)
            {
                var keep = (int)Math.Min(written.Length, limit - total);
                await sink(written[..keep], cancellationToken);
            }
            total += written.Length;
            input.AdvanceTo(consumed);
            if (ended)
            {
                return total;
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                throw new IOException("The client closed the connection before the end of DATA.");
            }
        }
    }
}
