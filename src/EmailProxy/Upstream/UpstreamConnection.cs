using System.IO.Pipelines;
using System.Net.Security;
using System.Text;
using EmailProxy.Connections;

namespace EmailProxy.Upstream;

/// <summary>
/// An open connection to the real server: a stream to write to and a <see cref="PipeReader"/> to
/// read from (which may already hold bytes the server sent after the login; the relay forwards them).
/// </summary>
internal sealed class UpstreamConnection : IAsyncDisposable
{
    public const int MaxLineLength = 64 * 1024;

    private readonly Action? _shutdownSend;
    private readonly UpstreamSocketStream? _transport;

    /// <param name="shutdownSend">Half-closes the connection's sending side (a socket's FIN); null when the transport has none.</param>
    /// <param name="transport">The socket under <paramref name="stream"/>, which tells whether data is waiting; null when there is none.</param>
    public UpstreamConnection(Stream stream, string host, int port, Action? shutdownSend = null, UpstreamSocketStream? transport = null)
    {
        _shutdownSend = shutdownSend;
        _transport = transport;
        Stream = stream;
        Host = host;
        Port = port;
        Reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    public Stream Stream { get; private set; }
    public PipeReader Reader { get; private set; }
    public string Host { get; }
    public int Port { get; }
    public string Endpoint => $"{Host}:{Port}";
    public bool IsTls => Stream is SslStream;

    /// <summary>The socket under the connection, when there is one (its options: keep-alive, no Nagle).</summary>
    public System.Net.Sockets.Socket? Socket => _transport?.Socket;

    /// <summary>
    /// Whether more of the server's bytes are already here (read ahead, or in the kernel's receive buffer), so the
    /// relay may read on before it flushes to the client. False when unknown.
    /// </summary>
    public bool DataAvailable => _transport?.DataAvailable ?? false;

    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await Reader.ReadLineAsync(MaxLineLength, cancellationToken);
        return line is null ? null : Encoding.UTF8.GetString(line);
    }

    /// <summary>Reads a line, or says the server closed the connection.</summary>
    public async ValueTask<string> ReadRequiredLineAsync(CancellationToken cancellationToken) =>
        await ReadLineAsync(cancellationToken) ?? throw new UpstreamUnavailableException($"{Endpoint} closed the connection");

    public async ValueTask WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        await Stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cancellationToken);
        await Stream.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Switches to TLS after STARTTLS/STLS. Whatever the server sent before the handshake is
    /// dropped with the old reader, never read as if it came under TLS.
    /// </summary>
    public async ValueTask UpgradeAsync(Func<Stream, CancellationToken, Task<Stream>> handshake, CancellationToken cancellationToken)
    {
        await Reader.CompleteAsync();
        Stream = await handshake(Stream, cancellationToken);
        Reader = PipeReader.Create(Stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    /// <summary>
    /// Passes a client's half-close on: TLS close_notify, then FIN, so the server answers what it
    /// has and closes. Failures are ignored: the connection is being wound up anyway.
    /// </summary>
    public async ValueTask ShutdownSendAsync()
    {
        try
        {
            if (Stream is SslStream tls)
            {
                await tls.ShutdownAsync();
            }
            _shutdownSend?.Invoke();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.CompleteAsync();
        await Stream.DisposeAsync();
    }
}
