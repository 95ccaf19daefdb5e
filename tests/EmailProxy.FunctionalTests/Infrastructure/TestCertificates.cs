using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A test certificate authority and a server certificate it signed (SAN: DNS localhost, IP 127.0.0.1 and ::1),
/// created at run time. <see cref="Trusted"/> is the CA given to the proxy as <c>ca_file</c>;
/// <see cref="Untrusted"/> is an unrelated CA whose server certificate must not verify against it.
/// </summary>
internal sealed class TestCertificates
{
    private static readonly Lazy<TestCertificates> LazyTrusted = new(() => new TestCertificates("EmailProxy Test CA"));
    private static readonly Lazy<TestCertificates> LazyUntrusted = new(() => new TestCertificates("EmailProxy Untrusted Test CA"));

    private readonly Lazy<SslStreamCertificateContext> _serverContext;

    private TestCertificates(string caName)
    {
        var now = DateTimeOffset.UtcNow;

        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN={caName}, O=EmailProxy Tests", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-2), now.AddYears(1));
        CaCertificate = X509CertificateLoader.LoadCertificate(caWithKey.RawData);

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost, O=EmailProxy Tests", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
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
        using var signedWithKey = signed.CopyWithPrivateKey(serverKey);

        // Round trip through PKCS#12 so the private key is a persisted, exportable key that SslStream can use.
        var pfx = signedWithKey.Export(X509ContentType.Pfx, string.Empty);
        ServerCertificate = X509CertificateLoader.LoadPkcs12(pfx, string.Empty, X509KeyStorageFlags.Exportable);

        _serverContext = new Lazy<SslStreamCertificateContext>(() => SslStreamCertificateContext.Create(ServerCertificate, null, offline: true));
    }

    /// <summary>The CA whose PEM file is given to the proxy as <c>ca_file</c>.</summary>
    public static TestCertificates Trusted => LazyTrusted.Value;

    /// <summary>An unrelated CA and server certificate, which must not verify against <see cref="Trusted"/>.</summary>
    public static TestCertificates Untrusted => LazyUntrusted.Value;

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
    public bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        return chain.Build(leaf);
    }
}
