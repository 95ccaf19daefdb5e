using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>The bench's clients' connection: a socket to 127.0.0.1 (NODELAY), with TLS checked as the proxy checks its upstream when asked.</summary>
internal static class ClientSocket
{
    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>; with <paramref name="tls"/>, does the TLS handshake the proxy does upstream;
    /// from <paramref name="from"/> (another loopback address, to play another host) when given.
    /// </summary>
    public static async Task<Stream> ConnectAsync(int port, TestCertificates? tls, CancellationToken cancellationToken, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "127.0.0.1",
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = (_, certificate, chain, errors) => UpstreamCertificateCheck.Validate(tls, certificate, chain, errors),
                }, cancellationToken);
            }
            return stream;
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            socket.Dispose();
            throw;
        }
    }
}
