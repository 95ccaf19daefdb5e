using EmailProxy.Configuration;
using Microsoft.AspNetCore.Connections;

namespace EmailProxy.LocalTls;

/// <summary>
/// A mail connection's local TLS, put on every connection by <see cref="LocalTlsMiddleware"/>: the
/// listener's <see cref="LocalTlsMode"/>, whether the connection runs under TLS, whether STARTTLS/STLS
/// may be offered (only in <c>starttls</c> mode, before TLS), and the one way to start TLS (implicit
/// TLS, STARTTLS, STLS). The TLS transport it installs is the middleware's to take off and
/// dispose; a session never restores a transport.
/// </summary>
internal sealed class LocalTlsFeature(ConnectionContext connection, LocalTlsService tls, LocalTlsMode mode, TimeProvider time)
{
    private readonly long _connected = time.GetTimestamp();

    /// <summary>The listener's mode (<c>imap_tls</c>… or <c>local_tls</c>).</summary>
    public LocalTlsMode Mode { get; } = mode;

    public bool IsTls => Transport is not null;

    /// <summary>STARTTLS/STLS is offered and may be taken: the listener is in <c>starttls</c> mode and the connection is not under TLS yet.</summary>
    public bool CanStartTls => Mode == LocalTlsMode.StartTls && !IsTls;

    /// <summary>The TLS transport installed on the connection, if any.</summary>
    public TlsTransport? Transport { get; private set; }

    /// <summary>
    /// Runs the handshake over the connection's transport and, when it succeeds, makes the
    /// decrypted pipes the connection's transport. False when it failed (logged); the session then ends.
    /// </summary>
    public async Task<bool> StartTlsAsync(CancellationToken cancellationToken)
    {
        if (IsTls || Mode == LocalTlsMode.Off)
        {
            throw new InvalidOperationException(IsTls ? "The connection runs under TLS already." : "Local TLS is off on this listener.");
        }
        var transport = await tls.HandshakeAsync(connection.Transport, connection.RemoteEndPoint, cancellationToken);
        if (transport is null)
        {
            return false;
        }
        Transport = transport;
        connection.Transport = transport;
        return true;
    }

    /// <summary>The client started a TLS handshake after the plaintext greeting: logged with the cause and the fix (<see cref="LocalTlsService.ReportLateClientHello"/>).</summary>
    public void ReportLateClientHello(string protocol, string tlsKey) =>
        tls.ReportLateClientHello(connection.RemoteEndPoint, protocol, tlsKey, Mode, time.GetElapsedTime(_connected));
}
