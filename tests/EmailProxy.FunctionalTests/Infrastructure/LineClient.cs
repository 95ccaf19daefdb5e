using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A plain TCP client for replaying transcripts: writes exact bytes, reads CRLF lines. Every read
/// has a safety timeout that only fails the test.
/// </summary>
internal sealed class LineClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private LineClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <param name="from">Another loopback address to connect from (to play another host), or null.</param>
    public static async Task<LineClient> ConnectAsync(int port, IPAddress? from = null)
    {
        var tcp = from is null ? new TcpClient { NoDelay = true } : new TcpClient(new IPEndPoint(from, 0)) { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        return new LineClient(tcp);
    }

    /// <summary>Connects and starts with TLS (implicit TLS), checking the certificate with <paramref name="validate"/>.</summary>
    public static async Task<LineClient> ConnectTlsAsync(int port, RemoteCertificateValidationCallback validate)
    {
        var client = await ConnectAsync(port);
        await client.UpgradeToTlsAsync(validate);
        return client;
    }

    /// <summary>Runs a TLS handshake on the connection (after STARTTLS/STLS, or at once for implicit TLS).</summary>
    public async Task UpgradeToTlsAsync(RemoteCertificateValidationCallback validate)
    {
        if (_start != _end)
        {
            throw new InvalidOperationException("Unread plaintext is buffered: the server sent more than its go-ahead.");
        }
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var cancel = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1", RemoteCertificateValidationCallback = validate }, cancel.Token);
        _stream = tls;
    }

    public async Task WriteAsync(string text) => await WriteAsync(Encoding.UTF8.GetBytes(text));

    public async Task WriteAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>The next line without its CRLF; null when the server closed the connection.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? ObservableLog.DefaultTimeout);
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await _stream.ReadAsync(_buffer, cancel.Token);
                if (_end == 0)
                {
                    return line.Count == 0 ? null : Encoding.UTF8.GetString([.. line]);
                }
            }
            var b = _buffer[_start++];
            if (b == (byte)'\n')
            {
                if (line.Count > 0 && line[^1] == (byte)'\r')
                {
                    line.RemoveAt(line.Count - 1);
                }
                return Encoding.UTF8.GetString([.. line]);
            }
            line.Add(b);
        }
    }

    /// <summary>Reads lines until one matches; returns it (the lines before it are in <paramref name="seen"/>).</summary>
    public async Task<string> ReadUntilAsync(Func<string, bool> predicate, List<string>? seen = null)
    {
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new IOException($"The connection closed before the expected line. Seen: {string.Join(" | ", seen ?? [])}");
            if (predicate(line))
            {
                return line;
            }
            seen?.Add(line);
        }
    }

    /// <summary>An SMTP reply, all its lines joined by newlines.</summary>
    public async Task<string> ReadSmtpReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new IOException($"The connection closed inside a reply: {string.Join(" | ", lines)}");
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return string.Join("\n", lines);
            }
        }
    }

    /// <summary>True when the server closed the connection (reads to the end, discarding what is left).</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        while (true)
        {
            if (await ReadLineAsync() is null)
            {
                return true;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
