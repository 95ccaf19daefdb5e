using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>One connection to the <see cref="SmtpSink"/>: answers every command with success, keeps what DATA carries.</summary>
internal sealed class SmtpSinkSession(SmtpSink sink, TcpClient client)
{
    private readonly List<string> _recipients = [];
    private string _mailFrom = "";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var reader = PipeReader.Create(stream);
                await WriteAsync(stream, "220 sink.test ESMTP test sink\r\n", cancellationToken);
                while (await ReadLineAsync(reader, cancellationToken) is { } line)
                {
                    var command = Encoding.ASCII.GetString(line).TrimEnd('\r');
                    var verb = command.Split(' ', 2)[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            await WriteAsync(stream, "250-sink.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n", cancellationToken);
                            break;
                        case "MAIL":
                            _mailFrom = command;
                            _recipients.Clear();
                            await WriteAsync(stream, "250 2.1.0 Ok\r\n", cancellationToken);
                            break;
                        case "RCPT":
                            _recipients.Add(command);
                            await WriteAsync(stream, "250 2.1.5 Ok\r\n", cancellationToken);
                            break;
                        case "DATA":
                            await WriteAsync(stream, "354 End data with <CR><LF>.<CR><LF>\r\n", cancellationToken);
                            var data = await ReadDataAsync(reader, cancellationToken);
                            if (data is null)
                            {
                                return;
                            }
                            sink.Add(new SmtpSinkMessage(_mailFrom, [.. _recipients], data));
                            await WriteAsync(stream, "250 2.0.0 Ok: queued\r\n", cancellationToken);
                            break;
                        case "QUIT":
                            await WriteAsync(stream, "221 2.0.0 Bye\r\n", cancellationToken);
                            return;
                        default:
                            await WriteAsync(stream, "250 2.0.0 Ok\r\n", cancellationToken);
                            break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The sink is stopping.
            }
            catch (IOException)
            {
                // Dovecot went away mid-session; nothing to keep.
            }
        }
    }

    /// <summary>The DATA lines up to the lone dot, dot-unstuffed (RFC 5321 4.5.2), CRLFs kept; null if the connection closed.</summary>
    private static async Task<byte[]?> ReadDataAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        var data = new MemoryStream();
        while (await ReadLineAsync(reader, cancellationToken) is { } line)
        {
            if (line.AsSpan().SequenceEqual(".\r"u8))
            {
                return data.ToArray();
            }
            var start = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0;
            data.Write(line, start, line.Length - start);
            data.WriteByte((byte)'\n');
        }
        return null;
    }

    /// <summary>The next line up to, not including, its LF (a CR before it is kept); null at the end of the stream.</summary>
    private static async Task<byte[]?> ReadLineAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = buffer.Slice(0, end).ToArray();
                reader.AdvanceTo(buffer.GetPosition(1, end));
                return line;
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static async Task WriteAsync(NetworkStream stream, string text, CancellationToken cancellationToken) =>
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);
}
