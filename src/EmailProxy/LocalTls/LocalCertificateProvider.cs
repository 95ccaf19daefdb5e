using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// The certificate the proxy shows its own clients. With <c>local_certificate</c> and
/// <c>local_key</c> it is that PEM pair, read again when either file changes. Otherwise the proxy
/// makes, once, a private CA (10 years) and a server certificate it signs (names: localhost,
/// 127.0.0.1, ::1, the host name, <c>local_tls_names</c>) under <c>&lt;config dir&gt;/tls/</c>, and keeps
/// them across restarts; the server certificate is made anew when a name is missing or it nears expiry.
/// </summary>
internal sealed partial class LocalCertificateProvider
{
    public const string FolderName = "tls";
    public const string CaCertificateFile = "ca.pem";
    public const string CaKeyFile = "ca.key";
    public const string ServerCertificateFile = "server.pem";
    public const string ServerKeyFile = "server.key";
    private static readonly TimeSpan ServerLifetime = TimeSpan.FromDays(825);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly bool _configured;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private SslStreamCertificateContext _context;
    private (DateTime Certificate, DateTime Key) _loadedStamps;

    public LocalCertificateProvider(ProxyConfig config, TimeProvider time, ILogger<LocalCertificateProvider> log)
    {
        _time = time;
        _log = log;
        var general = config.General;
        if (general.LocalCertificate is not null && general.LocalKey is not null)
        {
            _configured = true;
            _certificatePath = Path.GetFullPath(general.LocalCertificate, config.ConfigDirectory);
            _keyPath = Path.GetFullPath(general.LocalKey, config.ConfigDirectory);
            _context = Load(_certificatePath, _keyPath);
            _loadedStamps = Stamps();
            LogConfigured(_log, _certificatePath);
        }
        else
        {
            var folder = Path.Combine(config.ConfigDirectory, FolderName);
            CaPath = Path.Combine(folder, CaCertificateFile);
            _certificatePath = Path.Combine(folder, ServerCertificateFile);
            _keyPath = Path.Combine(folder, ServerKeyFile);
            _context = EnsureGenerated(folder, Names(general.LocalTlsNames));
            LogGenerated(_log, CaPath);
        }
    }

    /// <summary>The private CA's certificate, when the proxy made its own; null with a configured pair.</summary>
    public string? CaPath { get; }

    /// <summary>The certificate for the next handshake; a configured pair is read again when its files changed.</summary>
    public SslStreamCertificateContext Current
    {
        get
        {
            if (!_configured)
            {
                return _context;
            }
            var stamps = Stamps();
            lock (_gate)
            {
                if (stamps == _loadedStamps)
                {
                    return _context;
                }
                try
                {
                    _context = Load(_certificatePath, _keyPath);
                    LogReloaded(_log, _certificatePath);
                }
                catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
                {
                    // A half-written pair (the new certificate, the old key) is read again on the next handshake.
                    LogReloadFailed(_log, _certificatePath, e.Message);
                }
                _loadedStamps = stamps;
                return _context;
            }
        }
    }

    /// <exception cref="CryptographicException">The pair cannot be used.</exception>
    public static SslStreamCertificateContext Load(string certificatePath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        // Through PKCS#12 so that the key is usable by SslStream on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificatePath);
        var intermediates = new X509Certificate2Collection();
        foreach (var extra in chain.Skip(1))
        {
            intermediates.Add(extra);
        }
        return SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
    }

    private (DateTime, DateTime) Stamps() => (File.GetLastWriteTimeUtc(_certificatePath), File.GetLastWriteTimeUtc(_keyPath));

    private static List<string> Names(IReadOnlyList<string> extra)
    {
        var names = new List<string> { "localhost", "127.0.0.1", "::1" };
        if (HostIdentity.Name != "localhost")
        {
            names.Add(HostIdentity.Name);
        }
        names.AddRange(extra);
        return [.. names.Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    private SslStreamCertificateContext EnsureGenerated(string folder, List<string> names)
    {
        CreatePrivateFolder(folder);
        var now = _time.GetUtcNow();
        var caCertificate = Path.Combine(folder, CaCertificateFile);
        var ca = LoadPair(caCertificate, Path.Combine(folder, CaKeyFile));
        if (ca is null && File.Exists(caCertificate))
        {
            // Clients were told to trust this CA: a new one would silently break them all.
            throw new CryptographicException($"{caCertificate} exists but cannot be used with {CaKeyFile} beside it; restore the pair, or move both away to make a new CA (which every client must then trust anew)");
        }
        if (ca is null || ca.NotAfter.ToUniversalTime() < now.UtcDateTime + RenewBefore)
        {
            ca?.Dispose();
            ca = CreateCa(now);
            var caPath = Path.Combine(folder, CaCertificateFile);
            Save(ca, caPath, Path.Combine(folder, CaKeyFile));
            LogCaCreated(_log, caPath);
        }
        using (ca)
        {
            var server = LoadPair(_certificatePath, _keyPath);
            if (server is null || !Serves(server, ca, names, now))
            {
                server?.Dispose();
                server = CreateServer(ca, names, now);
                Save(server, _certificatePath, _keyPath);
                var list = string.Join(", ", names);
                LogServerCreated(_log, _certificatePath, list);
            }
            server.Dispose();
        }
        return Load(_certificatePath, _keyPath);
    }

    private static X509Certificate2? LoadPair(string certificatePath, string keyPath)
    {
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            return null;
        }
        try
        {
            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException)
        {
            return null;
        }
    }

    /// <summary>The kept server certificate is good while the CA signed it, it covers every name, and it is not near its end.</summary>
    private static bool Serves(X509Certificate2 server, X509Certificate2 ca, List<string> names, DateTimeOffset now)
    {
        if (server.Issuer != ca.Subject || server.NotAfter.ToUniversalTime() < now.UtcDateTime + RenewBefore)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        return chain.Build(server) && names.All(name => server.MatchesHostname(name));
    }

    private static X509Certificate2 CreateCa(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Email OAuth2 Proxy local CA ({HostIdentity.Name}), O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    private static X509Certificate2 CreateServer(X509Certificate2 ca, List<string> names, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost, O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                alternativeNames.AddIpAddress(address);
            }
            else
            {
                alternativeNames.AddDnsName(name);
            }
        }
        request.CertificateExtensions.Add(alternativeNames.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(ca, now.AddDays(-1), now + ServerLifetime, serial);
        return signed.CopyWithPrivateKey(key);
    }

    private static void Save(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new CryptographicException("The certificate has no ECDSA private key.");
        // Key first, then certificate, each replaced whole: a crash leaves a pair that does not
        // match, which is made anew for the server certificate and refused (not replaced) for the CA.
        Write(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Write(certificatePath, certificate.ExportCertificatePem(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    private static void Write(string path, string text, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Write('\n');
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static void CreatePrivateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
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

    [LoggerMessage(EventId = 4005, EventName = "LocalCaCreated", Level = LogLevel.Information, Message = "Created a private CA for local TLS: {CaPath}")]
    private static partial void LogCaCreated(ILogger logger, string caPath);

    [LoggerMessage(EventId = 4006, EventName = "LocalServerCertificateCreated", Level = LogLevel.Information,
        Message = "Created the local TLS server certificate {Path} for {Names}")]
    private static partial void LogServerCreated(ILogger logger, string path, string names);
}
