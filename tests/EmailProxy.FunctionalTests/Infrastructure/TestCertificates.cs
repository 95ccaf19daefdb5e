using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A test certificate authority and a server certificate it signed (SAN: DNS localhost, IP 127.0.0.1 and ::1),
/// created at run time. <see cref="Trusted"/> is the CA given to the proxy as <c>ca_file</c>;
/// <see cref="Untrusted"/> is an unrelated CA whose server certificate must not verify against it;
/// <see cref="Ecdsa"/> is a third CA with ECDSA P-256 keys, whose handshakes are cheap (the bench's upstream).
/// Linked into bench/EmailProxy.Bench: no xunit here.
/// </summary>
internal sealed class TestCertificates
{
    private static readonly Lazy<TestCertificates> LazyTrusted = new(() => new TestCertificates("EmailProxy Test CA"));
    private static readonly Lazy<TestCertificates> LazyUntrusted = new(() => new TestCertificates("EmailProxy Untrusted Test CA"));
    private static readonly Lazy<TestCertificates> LazyEcdsa = new(() => new TestCertificates("EmailProxy ECDSA Test CA", ellipticCurve: true));

    private readonly Lazy<SslStreamCertificateContext> _serverContext;

    private TestCertificates(string caName, bool ellipticCurve = false)
    {
        var now = DateTimeOffset.UtcNow;

        using AsymmetricAlgorithm caKey = ellipticCurve ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var caRequest = Request($"CN={caName}, O=EmailProxy Tests", caKey);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-2), now.AddYears(1));
        CaCertificate = X509CertificateLoader.LoadCertificate(caWithKey.RawData);

        using AsymmetricAlgorithm serverKey = ellipticCurve ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var serverRequest = Request("CN=localhost, O=EmailProxy Tests", serverKey);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var keyUsage = ellipticCurve ? X509KeyUsageFlags.DigitalSignature : X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment;
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(keyUsage, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = serverRequest.Create(caWithKey, now.AddDays(-1), now.AddDays(90), serial);
        using var signedWithKey = serverKey is ECDsa ecdsa ? signed.CopyWithPrivateKey(ecdsa) : signed.CopyWithPrivateKey((RSA)serverKey);

        // Round trip through PKCS#12 so the private key is a persisted, exportable key that SslStream can use.
        var pfx = signedWithKey.Export(X509ContentType.Pfx, string.Empty);
        ServerCertificate = X509CertificateLoader.LoadPkcs12(pfx, string.Empty, X509KeyStorageFlags.Exportable);

        _serverContext = new Lazy<SslStreamCertificateContext>(() => SslStreamCertificateContext.Create(ServerCertificate, null, offline: true));
    }

    /// <summary>The CA whose PEM file is given to the proxy as <c>ca_file</c>.</summary>
    public static TestCertificates Trusted => LazyTrusted.Value;

    /// <summary>An unrelated CA and server certificate, which must not verify against <see cref="Trusted"/>.</summary>
    public static TestCertificates Untrusted => LazyUntrusted.Value;

    /// <summary>A CA and server certificate with ECDSA P-256 keys (cheap handshakes), unrelated to the other two.</summary>
    public static TestCertificates Ecdsa => LazyEcdsa.Value;

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>The server certificate with its private key, usable by <see cref="SslStream"/> as a server.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>A server certificate context built once (offline, no chain download).</summary>
    public SslStreamCertificateContext ServerCertificateContext => _serverContext.Value;

    /// <summary>The CA certificate in PEM form.</summary>
    public string CaPem => CaCertificate.ExportCertificatePem();

    /// <summary>Writes the CA certificate as a PEM file.</summary>
    public void WriteCaPem(string path) => File.WriteAllText(path, CaPem + "\n");

    /// <summary>
    /// Certificate validation for clients that must trust only this CA: a chain built with CustomRootTrust,
    /// no revocation check, and the host name must match (any other policy error fails).
    /// </summary>
    public bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors) => ValidateAgainst(CaCertificate, certificate, errors);

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to <paramref name="ca"/> alone (CustomRootTrust, no revocation
    /// check, server authentication) and names the host; any other policy error fails. Never a blanket accept.
    /// </summary>
    public static bool ValidateAgainst(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        return chain.Build(leaf);
    }

    private static CertificateRequest Request(string subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException($"No certificate request for a {key.GetType().Name} key.", nameof(key)),
    };
}
