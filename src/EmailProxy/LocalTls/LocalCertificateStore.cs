using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Storage;
using Microsoft.Extensions.Logging;

namespace EmailProxy.LocalTls;

/// <summary>
/// The certificate files of local TLS: minting, keeping and reading them; which one a handshake
/// gets is <see cref="LocalCertificateSelector"/>'s choice. With <c>local_certificate</c> and
/// <c>local_key</c> it is that PEM pair, the operator's, read and never written. Otherwise the proxy
/// makes, once, a private CA (10 years, name-constrained by <see cref="LocalCaNameConstraints"/>) and
/// a server certificate it signs (names: localhost, 127.0.0.1, ::1, the host name,
/// <c>local_tls_names</c>, those the CA may vouch for) under <c>&lt;config dir&gt;/tls/</c>, and
/// keeps them across restarts; the server certificate is made anew when a name is missing or it
/// nears expiry. An IPv4 address is named twice, as an IP entry and as a DNS entry equal to it
/// (<see cref="LocalCaNameConstraints.DnsTwinOf"/>: clients that compare the host only with DNS names
/// then work by 127.0.0.1 too), and the common name is 127.0.0.1 (<see cref="CommonName"/>). Nothing is read or written before <see cref="LoadConfigured"/> or <see cref="LoadGenerated"/>.
/// </summary>
internal sealed partial class LocalCertificateStore
{
    public const string CaCertificateFile = "ca.pem";
    public const string CaKeyFile = "ca.key";
    public const string ServerCertificateFile = "server.pem";
    public const string ServerKeyFile = "server.key";

    /// <summary>0644: a certificate is public, and ca.pem is meant to be copied to the mail client.</summary>
    private const UnixFileMode CertificateMode = PrivateFile.OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private static readonly TimeSpan ServerLifetime = TimeSpan.FromDays(825);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>
    /// The server certificate's common name. mbsync and offlineimap fall back to the common name when no
    /// DNS entry matches, and a verifier checks the common name against the CA's name constraints only
    /// when the certificate has no DNS entry (it always has localhost): so these two work by 127.0.0.1
    /// even under a CA made before DNS twins, whose constraints refuse the DNS name 127.0.0.1, without a
    /// new CA. (fetchmail and PHP's c-client match with X509_check_host, which ignores the common name
    /// once there is a DNS entry: under such a CA they need localhost.)
    /// </summary>
    private const string CommonName = "127.0.0.1";

    private readonly string _folder;
    private readonly List<string> _names;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    public LocalCertificateStore(ProxyConfig config, TimeProvider time, ILogger<LocalCertificateStore> log)
    {
        _time = time;
        _log = log;
        var general = config.General;
        _folder = config.TlsDirectory;
        _names = Names(general.LocalTlsNames);
        if (general.LocalCertificate is not null && general.LocalKey is not null)
        {
            IsConfigured = true;
            CertificatePath = Path.GetFullPath(general.LocalCertificate, config.ConfigDirectory);
            KeyPath = Path.GetFullPath(general.LocalKey, config.ConfigDirectory);
        }
        else
        {
            CaPath = Path.Combine(_folder, CaCertificateFile);
            CertificatePath = Path.Combine(_folder, ServerCertificateFile);
            KeyPath = Path.Combine(_folder, ServerKeyFile);
        }
    }

    /// <summary>The operator configured a PEM pair: it is read again when it changes, never generated.</summary>
    public bool IsConfigured { get; }

    /// <summary>The private CA's certificate, when the proxy makes its own; null with a configured pair.</summary>
    public string? CaPath { get; }

    /// <summary>The server certificate (PEM, possibly followed by its intermediates).</summary>
    public string CertificatePath { get; }

    public string KeyPath { get; }

    /// <summary>When the pair's two files were last written: a change means the operator replaced them.</summary>
    public (DateTime Certificate, DateTime Key) Stamps() => (File.GetLastWriteTimeUtc(CertificatePath), File.GetLastWriteTimeUtc(KeyPath));

    /// <summary>Reads the configured pair.</summary>
    /// <exception cref="CryptographicException">The pair cannot be used.</exception>
    public SslStreamCertificateContext LoadConfigured() => Load(CertificatePath, KeyPath);

    /// <summary>
    /// Makes the CA and the server certificate where they are missing (or the server certificate
    /// where it no longer serves every name, or nears its end), saves them, and reads the server's.
    /// </summary>
    /// <exception cref="CryptographicException">A <c>ca.pem</c> exists but cannot be used: it is never replaced silently.</exception>
    public SslStreamCertificateContext LoadGenerated()
    {
        if (!Directory.Exists(_folder))
        {
            // Made 0700 like every private folder; an existing one is left as it is (not tightened
            // as the token folder is): an operator may have opened it so the mail client's user can
            // read ca.pem.
            PrivateFile.CreatePrivateFolder(_folder);
        }
        // What a write interrupted by a crash left behind; the files themselves are whole.
        PrivateFile.RemoveStaleTemporaryFiles(_folder);
        var now = _time.GetUtcNow();
        var caPath = CaPath ?? throw new InvalidOperationException("A configured certificate pair is never generated.");
        var ca = LoadPair(caPath, Path.Combine(_folder, CaKeyFile));
        if (ca is null && File.Exists(caPath))
        {
            // Clients were told to trust this CA: a new one would silently break them all.
            throw new CryptographicException($"{caPath} exists but cannot be used with {CaKeyFile} beside it; restore the pair, or move both away to make a new CA (which every client must then trust anew)");
        }
        if (ca is null || ca.NotAfter.ToUniversalTime() < now.UtcDateTime + RenewBefore)
        {
            if (ca is not null)
            {
                // The one replacement the proxy makes itself, since the old CA is about to stop working anyway: said loudly.
                LogCaReplacedNearItsEnd(_log, caPath, ca.NotAfter.ToUniversalTime());
            }
            ca?.Dispose();
            var constraints = LocalCaNameConstraints.For(_names);
            ca = CreateCa(now, constraints);
            Save(ca, caPath, Path.Combine(_folder, CaKeyFile));
            var permitted = constraints.ToString();
            LogCaCreated(_log, caPath, permitted);
        }
        using (ca)
        {
            var names = NamesTheCaPermits(ca);
            var twins = DnsTwinsTheCaPermits(ca, names);
            var server = LoadPair(CertificatePath, KeyPath);
            if (server is null || !Serves(server, ca, names, twins, now))
            {
                server?.Dispose();
                server = CreateServer(ca, names, twins, now);
                Save(server, CertificatePath, KeyPath);
                var list = string.Join(", ", names);
                LogServerCreated(_log, CertificatePath, list);
            }
            server.Dispose();
        }
        return Load(CertificatePath, KeyPath);
    }

    /// <summary>
    /// The names the server certificate can carry under this CA: all of them for a CA without name
    /// constraints (made by a version before them: kept, since clients trust it, but said at every
    /// start), else those inside its constraints, each other one logged with how to make a new CA.
    /// </summary>
    private List<string> NamesTheCaPermits(X509Certificate2 ca)
    {
        var folder = Path.GetFullPath(_folder);
        if (LocalCaNameConstraints.Of(ca) is not { } constraints)
        {
            LogCaUnconstrained(_log, CaPath!, folder);
            return _names;
        }
        var inside = new List<string>();
        var permitted = constraints.ToString();
        foreach (var name in _names)
        {
            if (constraints.Permits(name))
            {
                inside.Add(name);
            }
            else
            {
                LogNameOutsideCa(_log, name, CaPath!, permitted, folder);
            }
        }
        return inside;
    }

    /// <summary>
    /// The DNS twins of the IPv4 names that the server certificate carries: those the CA permits as DNS
    /// names. A CA made before twins permits none (only its IP ranges), and gets none: its certificate
    /// names 127.0.0.1 by <see cref="CommonName"/> only, which mbsync and offlineimap accept, but not the
    /// clients that match names with OpenSSL's X509_check_host (fetchmail, PHP's c-client): said at start.
    /// </summary>
    private List<string> DnsTwinsTheCaPermits(X509Certificate2 ca, List<string> names)
    {
        var constraints = LocalCaNameConstraints.Of(ca);
        var twins = names.Select(LocalCaNameConstraints.DnsTwinOf).OfType<string>().ToList();
        var permitted = twins.Where(twin => constraints is null || constraints.PermitsDnsName(twin)).ToList();
        if (permitted.Count < twins.Count)
        {
            var missing = string.Join(", ", twins.Except(permitted));
            var folder = Path.GetFullPath(_folder);
            LogCaWithoutDnsTwins(_log, CaPath!, missing, folder);
        }
        return permitted;
    }

    /// <exception cref="CryptographicException">The pair cannot be used.</exception>
    private static SslStreamCertificateContext Load(string certificatePath, string keyPath)
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

    /// <summary>
    /// The kept server certificate is good while the CA signed it, it covers every name (and carries
    /// every DNS twin and the common name: one made before them is made anew under the same CA), and it
    /// is not near its end.
    /// </summary>
    private static bool Serves(X509Certificate2 server, X509Certificate2 ca, List<string> names, List<string> twins, DateTimeOffset now)
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
        if (!chain.Build(server) || !names.All(name => server.MatchesHostname(name))
            || server.GetNameInfo(X509NameType.SimpleName, forIssuer: false) != CommonName)
        {
            return false;
        }
        var dnsNames = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return twins.All(dnsNames.Contains);
    }

    /// <summary>
    /// The CA: its subject names the proxy and the machine (as a client's trust store lists it), its
    /// path length is 0, and its name constraints keep it to this machine and private networks.
    /// </summary>
    private static X509Certificate2 CreateCa(DateTimeOffset now, LocalCaNameConstraints constraints)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("Email OAuth2 Proxy");
        subject.AddCommonName($"Email OAuth2 Proxy local CA ({HostIdentity.Name})");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(constraints.ToExtension());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    private static X509Certificate2 CreateServer(X509Certificate2 ca, List<string> names, List<string> twins, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={CommonName}, O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                alternativeNames.AddIpAddress(address);
                if (twins.Contains(name, StringComparer.Ordinal))
                {
                    alternativeNames.AddDnsName(name);
                }
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
        // Within the CA's own validity, which a certificate it signs can neither predate nor outlive: a CA made less
        // than a day ago (by openssl in an operator's tls/ folder, or before the clock was set back), and one with
        // fewer days left than ServerLifetime (its last ~2 years of 10), would otherwise fail the start.
        var notBefore = Later(now.AddDays(-1), new DateTimeOffset(ca.NotBefore.ToUniversalTime()));
        var notAfter = Earlier(now + ServerLifetime, new DateTimeOffset(ca.NotAfter.ToUniversalTime()));
        using var signed = request.Create(ca, notBefore, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static void Save(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new CryptographicException("The certificate has no ECDSA private key.");
        // Key first, then certificate, each replaced whole: a crash leaves a pair that does not
        // match, which is made anew for the server certificate and refused (not replaced) for the CA.
        Write(keyPath, key.ExportPkcs8PrivateKeyPem(), PrivateFile.OwnerReadWrite);
        Write(certificatePath, certificate.ExportCertificatePem(), CertificateMode);
    }

    /// <summary>The one place certificate files are written: whole or not at all (<see cref="PrivateFile"/>).</summary>
    private static void Write(string path, string text, UnixFileMode mode) => PrivateFile.WriteText(path, text + "\n", mode);

    [LoggerMessage(EventId = 4005, EventName = "LocalCaCreated", Level = LogLevel.Information,
        Message = "Created a private CA for local TLS: {CaPath}; it can vouch only for {Permitted}")]
    private static partial void LogCaCreated(ILogger logger, string caPath, string permitted);

    [LoggerMessage(EventId = 4009, EventName = "LocalCaReplacedNearItsEnd", Level = LogLevel.Warning,
        Message = "The local CA {CaPath} ends on {NotAfter:O}: a new one replaces it now, and every mail client must trust the new ca.pem")]
    private static partial void LogCaReplacedNearItsEnd(ILogger logger, string caPath, DateTime notAfter);

    [LoggerMessage(EventId = 4007, EventName = "LocalCaUnconstrained", Level = LogLevel.Warning,
        Message = "The local CA {CaPath} has no name constraints (an older version made it): a client that trusts it would trust any site it signed. It is kept, since clients trust it; to replace it with a constrained one, move the folder {Folder} aside and restart, then make every client trust the new ca.pem")]
    private static partial void LogCaUnconstrained(ILogger logger, string caPath, string folder);

    [LoggerMessage(EventId = 4008, EventName = "LocalTlsNameOutsideCa", Level = LogLevel.Warning,
        Message = "The name {Name} is left out of the local TLS server certificate: the local CA {CaPath} can vouch only for {Permitted} (the names known when it was made). For a CA that covers it, move the folder {Folder} aside and restart (the new CA takes the host name and local_tls_names of that start), then make every client trust the new ca.pem")]
    private static partial void LogNameOutsideCa(ILogger logger, string name, string caPath, string permitted, string folder);

    [LoggerMessage(EventId = 4019, EventName = "LocalCaWithoutDnsTwins", Level = LogLevel.Information,
        Message = "The local CA {CaPath} was made before the server certificate named IPv4 addresses as DNS names too, and its name constraints do not permit {Addresses} as DNS names: mbsync and offlineimap accept 127.0.0.1 by the certificate's common name, but fetchmail, PHP's imap /ssl and other clients that compare the host only with DNS names must connect by localhost. For a CA that permits it, move the folder {Folder} aside and restart, then make every client trust the new ca.pem")]
    private static partial void LogCaWithoutDnsTwins(ILogger logger, string caPath, string addresses, string folder);

    [LoggerMessage(EventId = 4006, EventName = "LocalServerCertificateCreated", Level = LogLevel.Information,
        Message = "Created the local TLS server certificate {Path} for {Names}")]
    private static partial void LogServerCreated(ILogger logger, string path, string names);
}
