using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.Bench;

/// <summary>
/// A private CA and a server certificate for 127.0.0.1 / localhost signed by it, made at start. ECDSA P-256,
/// so that the fake upstream's side of each TLS handshake is cheap: it shares the machine with the proxy.
/// </summary>
internal sealed class BenchCertificates : IDisposable
{
    public BenchCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=EmailProxy Bench CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        CaCertificate = X509CertificateLoader.LoadCertificate(caWithKey.RawData);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = serverRequest.Create(caWithKey, now.AddDays(-1), now.AddDays(30), serial);
        using var signedWithKey = signed.CopyWithPrivateKey(serverKey);
        ServerCertificate = X509CertificateLoader.LoadPkcs12(signedWithKey.Export(X509ContentType.Pfx, string.Empty), string.Empty);
        ServerContext = SslStreamCertificateContext.Create(ServerCertificate, null, offline: true);
    }

    public X509Certificate2 CaCertificate { get; }

    public X509Certificate2 ServerCertificate { get; }

    public SslStreamCertificateContext ServerContext { get; }

    public void WriteCaPem(string path) => File.WriteAllText(path, CaCertificate.ExportCertificatePem() + "\n");

    /// <summary>
    /// What the proxy's upstream connector does, so that the direct client pays the same: accept a clean chain, or
    /// one that fails only for its unknown root when it builds against this CA as a custom root.
    /// </summary>
    public bool Validate(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is not X509Certificate2 leaf)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return chain.Build(leaf);
    }

    public void Dispose()
    {
        ServerCertificate.Dispose();
        CaCertificate.Dispose();
    }
}
