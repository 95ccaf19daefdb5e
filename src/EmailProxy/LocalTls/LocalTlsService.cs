using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using EmailProxy.Configuration;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// TLS towards the proxy's own clients, the part every mail port shares: whether any listener
/// uses it (with every listener <c>off</c> nothing is offered and no certificate is made), the
/// server side of a handshake (TLS 1.2 or later, the certificate
/// <see cref="LocalCertificateSelector"/> chooses, at most <see cref="HandshakeTimeout"/>), and
/// the notices that tell an operator why a client's TLS did not work: a failed handshake with
/// its reason, and a ClientHello that came after a plaintext greeting. Each notice is logged at
/// most once per client address and minute (<see cref="AddressMinuteGate"/>), the rest at Debug.
/// Which connections get TLS, and when it is taken off again, is <see cref="LocalTlsMiddleware"/>'s business.
/// </summary>
internal sealed partial class LocalTlsService(ProxyConfig config, LocalCertificateSelector certificates, TimeProvider time, ILogger<LocalTlsService> log)
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly AddressMinuteGate _handshakeNotices = new(time);
    private readonly AddressMinuteGate _lateHelloNotices = new(time);

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
    /// null when the handshake failed (logged with its reason). Bytes already received and not yet
    /// read are taken as the start of the handshake, never as plaintext.
    /// </summary>
    public async Task<TlsTransport?> HandshakeAsync(IDuplexPipe raw, EndPoint? client, CancellationToken cancellationToken)
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
            var level = _handshakeNotices.Admit((client as IPEndPoint)?.Address) ? LogLevel.Information : LogLevel.Debug;
            if (log.IsEnabled(level))
            {
                var reason = timer.IsCancellationRequested
                    ? $"no handshake within {HandshakeTimeout.TotalSeconds:0} seconds (a client that waits for a plaintext greeting gets none where TLS starts at once)"
                    : DescribeFailure(e);
                var name = client?.ToString() ?? "unknown";
                LogHandshakeFailed(log, level, name, reason);
            }
            await tls.DisposeAsync();
            return null;
        }
        return new TlsTransport(tls);
    }

    /// <summary>
    /// A client started a TLS handshake after the listener had greeted it in plaintext: the client
    /// expects implicit TLS where the listener's mode gave plaintext. Logged as a warning that
    /// names the cause and the fix, once per client address and minute.
    /// </summary>
    /// <param name="client">The client's end point.</param>
    /// <param name="protocol">The listener's protocol (<c>IMAP</c>…).</param>
    /// <param name="tlsKey">The listener's own key (<c>imap_tls</c>…).</param>
    /// <param name="mode">The listener's mode.</param>
    /// <param name="afterConnect">How long after the connect the handshake was seen.</param>
    public void ReportLateClientHello(EndPoint? client, string protocol, string tlsKey, LocalTlsMode mode, TimeSpan afterConnect)
    {
        var level = _lateHelloNotices.Admit((client as IPEndPoint)?.Address) ? LogLevel.Warning : LogLevel.Debug;
        if (!log.IsEnabled(level))
        {
            return;
        }
        var (cause, fix) = mode switch
        {
            LocalTlsMode.Auto => (
                $"{tlsKey} = auto waited {LocalTlsMiddleware.ClientHelloWait.TotalMilliseconds:0} ms for a ClientHello, got none and greeted in plaintext",
                $"for a client that speaks TLS from the first byte set {tlsKey} = implicit (TLS only on this port), or set the client to plaintext (security None)"),
            LocalTlsMode.StartTls => (
                $"{tlsKey} = starttls greets in plaintext and offers STARTTLS",
                $"set the client to STARTTLS, or set {tlsKey} = implicit (or auto) for a client that speaks TLS from the first byte"),
            _ => (
                $"local TLS is off on this listener ({tlsKey} = off)",
                $"set the client to plaintext (security None), or set {tlsKey} = implicit (or auto)"),
        };
        var name = client?.ToString() ?? "unknown";
        var afterConnectMs = (long)afterConnect.TotalMilliseconds;
        LogLateClientHello(log, level, protocol, name, afterConnectMs, cause, fix);
    }

    /// <summary>
    /// Why a handshake failed, in words: the TLS alert the client sent (OpenSSL's
    /// <c>tlsv1 alert unknown ca</c>…) with what it usually means, or the innermost exception's message.
    /// </summary>
    internal static string DescribeFailure(Exception e)
    {
        var inner = e;
        while (inner.InnerException is { } next)
        {
            inner = next;
        }
        var message = inner.Message;
        if (AlertPattern().Match(message) is { Success: true } alert)
        {
            var name = alert.Groups[1].Value.Trim();
            var meaning = name switch
            {
                "unknown ca" or "bad certificate" or "certificate unknown" or "unsupported certificate" or "certificate expired" =>
                    $": the client does not trust the proxy's certificate{TrustFix}",
                "protocol version" => ": the client offers no TLS version the proxy accepts (TLS 1.2 or later)",
                "handshake failure" or "insufficient security" => ": the client and the proxy share no cipher suite or key exchange",
                "decrypt error" or "bad record mac" => ": the handshake was corrupted on its way",
                _ => "",
            };
            return $"the client sent the TLS alert '{name}'{meaning}";
        }
        if (message.Contains("unsupported protocol", StringComparison.OrdinalIgnoreCase))
        {
            // Measured: PHP's imap_open takes STARTTLS whenever it is offered, even with no flags, and its c-client speaks TLS 1.0.
            return $"the client offers only TLS versions older than 1.2, which the proxy refuses ({message}); PHP's imap_open (c-client, TLS 1.0) is one: "
                + "it takes STARTTLS whenever it is offered, so give such a client a listener in auto or off mode, where it stays in plaintext";
        }
        if (message.Contains("wrong version number", StringComparison.OrdinalIgnoreCase)
            || message.Contains("http request", StringComparison.OrdinalIgnoreCase)
            || message.Contains("packet length too long", StringComparison.OrdinalIgnoreCase))
        {
            return $"the client did not start a TLS handshake (plaintext to a port where TLS starts at once?): {message}";
        }
        if (e is IOException or AuthenticationException && (message.Contains("EOF", StringComparison.OrdinalIgnoreCase)
            || message.Contains("0 bytes", StringComparison.Ordinal) || message.Contains("reset", StringComparison.OrdinalIgnoreCase)))
        {
            // A client that rejects the certificate sends its alert and closes; when part of the proxy's
            // handshake was still on its way, its socket answers with a reset, and the alert is lost with it.
            return $"the client closed the connection during the handshake without a TLS alert the proxy could read ({message}); "
                + $"usually it does not trust the proxy's certificate{TrustFix}";
        }
        return message;
    }

    private const string TrustFix = "; install the CA that issued it (the generated tls/ca.pem, or local_certificate's CA) as a trusted CA in the client, or use plaintext";

    [GeneratedRegex(@"alert ([a-z ]+)", RegexOptions.IgnoreCase)]
    private static partial Regex AlertPattern();

    [LoggerMessage(EventId = 4101, EventName = "LocalTlsHandshakeFailed",
        Message = "TLS handshake with client {Client} failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, LogLevel level, string client, string reason);

    [LoggerMessage(EventId = 4102, EventName = "LocalTlsLateClientHello",
        Message = "{Protocol} client {Client} started a TLS handshake {AfterConnectMs} ms after connecting, after the plaintext greeting, and was closed: {Cause}; {Fix}")]
    private static partial void LogLateClientHello(ILogger logger, LogLevel level, string protocol, string client, long afterConnectMs, string cause, string fix);
}
