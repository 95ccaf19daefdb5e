using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using EmailProxy.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// TLS towards the proxy's own clients, one mechanism for every port: implicit TLS recognised from
/// the first bytes of a connection (IMAP, POP) and STARTTLS/STLS from the sessions. TLS 1.2 or later,
/// a handshake of at most <see cref="HandshakeTimeout"/>. With <c>local_tls = off</c> nothing is offered.
/// </summary>
internal sealed partial class LocalTlsService(ProxyConfig config, IServiceProvider services, TimeProvider time, ILogger<LocalTlsService> log)
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a new connection may stay silent before it is taken for a plaintext client waiting
    /// for the greeting. A TLS client sends its ClientHello in the packet right after the TCP
    /// handshake, so it is here within a few milliseconds even over a slow link; a plaintext
    /// client sends nothing until it has the greeting, which this delays by at most this much.
    /// </summary>
    public static readonly TimeSpan ClientHelloWait = TimeSpan.FromMilliseconds(150);

    private const byte TlsHandshakeRecord = 0x16;

    private readonly Lazy<LocalCertificateProvider?> _certificates = new(() =>
        config.General.LocalTls == LocalTlsMode.Off ? null : (LocalCertificateProvider)services.GetService(typeof(LocalCertificateProvider))!);

    public bool Enabled => config.General.LocalTls != LocalTlsMode.Off;

    /// <summary>Makes (or loads) the certificate now, so that a problem shows at start and the CA's path is logged.</summary>
    public void Prepare() => _ = _certificates.Value;

    /// <summary>
    /// Runs the server side of a TLS handshake on the connection's current transport and, when it
    /// succeeds, makes the decrypted pipes the connection's transport. Bytes already received and
    /// not yet read are taken as the start of the handshake, never as plaintext.
    /// </summary>
    public async Task<bool> UpgradeAsync(ConnectionContext connection, CancellationToken cancellationToken)
    {
        var raw = connection.Transport;
        var tls = new SslStream(new PipeStream(raw), leaveInnerStreamOpen: false);
        using var timer = new CancellationTokenSource(HandshakeTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = _certificates.Value!.Current,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            }, timeout.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or InvalidOperationException)
        {
            var reason = timer.IsCancellationRequested ? $"no handshake within {HandshakeTimeout.TotalSeconds:0} seconds" : e.Message;
            var client = connection.RemoteEndPoint?.ToString() ?? "unknown";
            LogHandshakeFailed(log, client, reason);
            await tls.DisposeAsync();
            return false;
        }
        var transport = new TlsTransport(tls, raw);
        connection.Transport = transport;
        connection.Features.Set(new LocalTlsFeature(transport));
        return true;
    }

    /// <summary>
    /// Connection middleware for the IMAP and POP ports: a connection whose first byte opens a TLS
    /// handshake record gets implicit TLS; one that sends other bytes, or nothing within
    /// <see cref="ClientHelloWait"/>, stays plaintext. One port serves both kinds of client.
    /// </summary>
    public ConnectionDelegate Sniff(ConnectionDelegate next) => async connection =>
    {
        if (!Enabled || !await StartsWithTlsAsync(connection))
        {
            await next(connection);
            return;
        }
        if (!await UpgradeAsync(connection, CancellationToken.None))
        {
            return;
        }
        await next(connection);
    };

    private async Task<bool> StartsWithTlsAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var wait = new CancellationTokenSource(ClientHelloWait, time);
        ReadResult result;
        try
        {
            // A cancelled read leaves the pipe as it was (unlike CancelPendingRead, which could
            // race with arriving data and end the session's first read).
            result = await input.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        var startsWithTls = !result.Buffer.IsEmpty && result.Buffer.FirstSpan[0] == TlsHandshakeRecord;
        input.AdvanceTo(result.Buffer.Start);
        return startsWithTls;
    }

    [LoggerMessage(EventId = 4101, EventName = "LocalTlsHandshakeFailed", Level = LogLevel.Debug,
        Message = "TLS handshake with client {Client} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string client, string reason);
}
