using System.Net.Security;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// Chooses the certificate for each local TLS handshake: the generated one, made or read once; or
/// the configured pair, read again on the next handshake after either of its files changed (a pair
/// that cannot be read then keeps the previous one in use). Nothing is read or made before the first
/// <see cref="Current"/>, so that with <c>local_tls = off</c> no certificate exists.
/// </summary>
internal sealed partial class LocalCertificateSelector(LocalCertificateStore store, ILogger<LocalCertificateSelector> log)
{
    private readonly Lock _gate = new();
    private SslStreamCertificateContext? _context;
    private (DateTime Certificate, DateTime Key) _loadedStamps;

    /// <summary>The certificate for the next handshake.</summary>
    /// <exception cref="CryptographicException">At the first call: the certificate cannot be made or read.</exception>
    public SslStreamCertificateContext Current
    {
        get
        {
            if (!store.IsConfigured && Volatile.Read(ref _context) is { } generated)
            {
                return generated;
            }
            lock (_gate)
            {
                if (_context is null)
                {
                    var first = First();
                    Volatile.Write(ref _context, first);
                    return first;
                }
                return store.IsConfigured ? ReloadIfChanged() : _context;
            }
        }
    }

    private SslStreamCertificateContext First()
    {
        if (!store.IsConfigured)
        {
            var generated = store.LoadGenerated();
            LogGenerated(log, store.CaPath!);
            return generated;
        }
        // The stamps before the read: a change while reading is seen at the next handshake.
        _loadedStamps = store.Stamps();
        var configured = store.LoadConfigured();
        LogConfigured(log, store.CertificatePath);
        return configured;
    }

    private SslStreamCertificateContext ReloadIfChanged()
    {
        var stamps = store.Stamps();
        if (stamps == _loadedStamps)
        {
            return _context!;
        }
        try
        {
            _context = store.LoadConfigured();
            LogReloaded(log, store.CertificatePath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // A half-written pair (the new certificate, the old key) is read again after its next change.
            LogReloadFailed(log, store.CertificatePath, e.Message);
        }
        _loadedStamps = stamps;
        return _context!;
    }

    [LoggerMessage(EventId = 4001, EventName = "LocalCaInUse", Level = LogLevel.Information,
        Message = "Local TLS uses the proxy's own CA {CaPath}: install it as a trusted CA where the mail client runs (EspoCRM verifies certificates and has no switch to turn that off), or use plaintext on loopback")]
    private static partial void LogGenerated(ILogger logger, string caPath);

    [LoggerMessage(EventId = 4002, EventName = "LocalCertificateConfigured", Level = LogLevel.Information,
        Message = "Local TLS uses the configured certificate {Path}; it is read again when the file changes")]
    private static partial void LogConfigured(ILogger logger, string path);

    [LoggerMessage(EventId = 4003, EventName = "LocalCertificateReloaded", Level = LogLevel.Information, Message = "Local TLS certificate {Path} changed and was read again")]
    private static partial void LogReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = 4004, EventName = "LocalCertificateReloadFailed", Level = LogLevel.Warning,
        Message = "Local TLS certificate {Path} changed but cannot be used ({Reason}); the previous one stays in use")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);
}
