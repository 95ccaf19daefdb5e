using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using EmailProxy.Configuration;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// TLS towards the proxy's own clients, the part every mail port shares: whether it is on (with
/// <c>local_tls = off</c> nothing is offered and no certificate is made), and the server side of a
/// handshake: TLS 1.2 or later, the certificate <see cref="LocalCertificateSelector"/> chooses, at
/// most <see cref="HandshakeTimeout"/>. Which connections get TLS, and when it is taken off again,
/// is <see cref="LocalTlsMiddleware"/>'s business.
/// </summary>
internal sealed partial class LocalTlsService(ProxyConfig config, LocalCertificateSelector certificates, TimeProvider time, ILogger<LocalTlsService> log)
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    public bool Enabled { get; } = config.General.AnyLocalTls;

    /// <summary>Makes (or loads) the certificate now, so that a problem shows at start and the CA's path is logged.</summary>
    public void Prepare()
    {
        if (Enabled)
        {
            _ = certificates.Current;
        }
    }

    /// <summary>
    /// Runs the server side of a TLS handshake over <paramref name="raw"/>; the decrypted side, or
    /// null when the handshake failed (logged). Bytes already received and not yet read are taken
    /// as the start of the handshake, never as plaintext.
    /// </summary>
    public async Task<TlsTransport?> HandshakeAsync(IDuplexPipe raw, string client, CancellationToken cancellationToken)
    {
        var tls = new SslStream(new PipeStream(raw), leaveInnerStreamOpen: false);
        using var timer = new CancellationTokenSource(HandshakeTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificates.Current,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            }, timeout.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or InvalidOperationException)
        {
            var reason = timer.IsCancellationRequested ? $"no handshake within {HandshakeTimeout.TotalSeconds:0} seconds" : e.Message;
            LogHandshakeFailed(log, client, reason);
            await tls.DisposeAsync();
            return null;
        }
        return new TlsTransport(tls);
    }

    [LoggerMessage(EventId = 4101, EventName = "LocalTlsHandshakeFailed", Level = LogLevel.Debug,
        Message = "TLS handshake with client {Client} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string client, string reason);
}
