using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>The server side of the fake servers' TLS handshakes (implicit, STARTTLS or STLS), counting those that fail.</summary>
internal sealed class FakeTlsAcceptor(TestCertificates certificates)
{
    private int _failures;

    /// <summary>Handshakes that failed (a client that refused the certificate, or went away during the handshake).</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>
    /// Runs the handshake over <paramref name="inner"/>; the TLS stream (which owns <paramref name="inner"/>), or
    /// null, with <paramref name="inner"/> disposed, when the handshake failed.
    /// </summary>
    public async Task<SslStream?> AcceptAsync(Stream inner, CancellationToken cancellationToken)
    {
        var tls = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions { ServerCertificateContext = certificates.ServerCertificateContext, ClientCertificateRequired = false },
                cancellationToken);
            return tls;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _failures);
            await tls.DisposeAsync();
            return null;
        }
    }
}
