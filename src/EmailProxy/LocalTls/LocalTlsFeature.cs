using Microsoft.AspNetCore.Connections;

namespace EmailProxy.LocalTls;

/// <summary>
/// A mail connection's local TLS, put on the connection by <see cref="LocalTlsMiddleware"/> when
/// local TLS is on: whether the connection runs under TLS, and the one way to start it (implicit
/// TLS, STARTTLS, STLS). The TLS transport it installs is the middleware's to take off and
/// dispose; a session never restores a transport.
/// </summary>
internal sealed class LocalTlsFeature(ConnectionContext connection, LocalTlsService tls)
{
    public bool IsTls => Transport is not null;

    /// <summary>TLS may still be started: STARTTLS/STLS may be offered.</summary>
    public bool CanStartTls => !IsTls;

    /// <summary>The TLS transport installed on the connection, if any.</summary>
    public TlsTransport? Transport { get; private set; }

    /// <summary>
    /// Runs the handshake over the connection's transport and, when it succeeds, makes the
    /// decrypted pipes the connection's transport. False when it failed (logged); the session then ends.
    /// </summary>
    public async Task<bool> StartTlsAsync(CancellationToken cancellationToken)
    {
        if (IsTls)
        {
            throw new InvalidOperationException("The connection runs under TLS already.");
        }
        var client = connection.RemoteEndPoint?.ToString() ?? "unknown";
        var transport = await tls.HandshakeAsync(connection.Transport, client, cancellationToken);
        if (transport is null)
        {
            return false;
        }
        Transport = transport;
        connection.Transport = transport;
        return true;
    }
}
