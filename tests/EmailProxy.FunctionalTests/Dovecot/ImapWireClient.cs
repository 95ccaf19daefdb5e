using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// A raw IMAP client for replaying a mail client's transcript byte for byte: writes exactly what it is given and
/// reads responses as the server framed them, a literal's <c>{n}</c> followed by exactly n bytes (which may hold
/// CRLFs and 8-bit data). Lines are decoded as Latin-1, so no byte is lost to decoding. Every read has the
/// safety timeout, which only fails a test.
/// </summary>
internal sealed partial class ImapWireClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private ImapWireClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<ImapWireClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        return new ImapWireClient(tcp);
    }

    public Task WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text));

    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>The next line without its CRLF (Latin-1); null when the server closed the connection.</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var cancel = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancel.Token))
            {
                return line.Length == 0 ? null : Encoding.Latin1.GetString(line.ToArray());
            }
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline < 0)
            {
                line.Write(_buffer, _start, _end - _start);
                _start = _end;
                continue;
            }
            line.Write(_buffer, _start, newline - _start);
            _start = newline + 1;
            var bytes = line.ToArray();
            var length = bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes.Length - 1 : bytes.Length;
            return Encoding.Latin1.GetString(bytes, 0, length);
        }
    }

    /// <summary>
    /// Reads responses until the line tagged <paramref name="tag"/>; a response ending in <c>{n}</c> has its n bytes
    /// read exactly and goes on after them. Fails if the connection closes first.
    /// </summary>
    public async Task<ImapWireReply> ReadReplyAsync(string tag)
    {
        var untagged = new List<string>();
        var continuations = new List<string>();
        var literals = new List<byte[]>();
        while (true)
        {
            var response = new StringBuilder();
            while (true)
            {
                var line = await ReadLineAsync()
                    ?? throw new IOException($"The connection closed before {tag}'s tagged reply. Seen: {string.Join(" | ", [.. continuations, .. untagged, response.ToString()])}");
                response.Append(line);
                var literal = LiteralAtEnd().Match(line);
                if (!literal.Success)
                {
                    break;
                }
                literals.Add(await ReadExactAsync(int.Parse(literal.Groups[1].Value, CultureInfo.InvariantCulture)));
            }

            var text = response.ToString();
            if (text.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return new ImapWireReply(text, untagged, continuations, literals);
            }
            if (text.StartsWith('+'))
            {
                continuations.Add(text);
            }
            else
            {
                untagged.Add(text);
            }
        }
    }

    /// <summary>Sends one command line and returns its reply.</summary>
    public async Task<ImapWireReply> CommandAsync(string tag, string command)
    {
        await WriteAsync($"{tag} {command}\r\n");
        return await ReadReplyAsync(tag);
    }

    /// <summary>True when the server closed the connection (reads to the end, discarding what is left).</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        while (await ReadLineAsync() is not null)
        {
            // Whatever is left is not part of the transcript.
        }
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<byte[]> ReadExactAsync(int count)
    {
        using var cancel = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        var bytes = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            if (_start == _end && !await FillAsync(cancel.Token))
            {
                throw new IOException($"The connection closed inside a literal: {filled} of {count} bytes.");
            }
            var take = Math.Min(count - filled, _end - _start);
            Array.Copy(_buffer, _start, bytes, filled, take);
            _start += take;
            filled += take;
        }
        return bytes;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        return _end > 0;
    }

    [GeneratedRegex(@"\{(\d+)\}$")]
    private static partial Regex LiteralAtEnd();
}
