using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// A self-signed certificate and its private key written as PEM files into a test's folder, as an
/// operator makes them for client_certificate and client_key (RSA 2048, or EC P-256).
/// </summary>
internal sealed class TestClientCertificate
{
    private TestClientCertificate(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        Certificate = certificate;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
    }

    /// <summary>The certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    /// <summary>Writes <c>{name}.crt.pem</c> and <c>{name}.key.pem</c> into <paramref name="folder"/>.</summary>
    public static TestClientCertificate Create(TempDirectory folder, string name = "client", bool ellipticCurve = false)
    {
        using AsymmetricAlgorithm key = ellipticCurve ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var request = key is ECDsa ec
            ? new CertificateRequest($"CN={name}", ec, HashAlgorithmName.SHA256)
            : new CertificateRequest($"CN={name}", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var now = DateTimeOffset.UtcNow;
        using var withKey = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        var certificatePath = folder.WriteFile($"{name}.crt.pem", withKey.ExportCertificatePem());
        var keyPath = folder.WriteFile($"{name}.key.pem", key.ExportPkcs8PrivateKeyPem());
        return new TestClientCertificate(X509CertificateLoader.LoadCertificate(withKey.RawData), certificatePath, keyPath);
    }
}
