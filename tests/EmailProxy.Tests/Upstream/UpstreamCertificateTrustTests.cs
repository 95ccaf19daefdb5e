using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Upstream;

/// <summary>The upstream certificate check: one chain build against a ca_file's roots, the system store only after it failed.</summary>
public sealed class UpstreamCertificateTrustTests : IDisposable
{
    private readonly X509Certificate2 _ca = CreateCa("CN=Bundle CA");
    private readonly X509Certificate2 _otherCa = CreateCa("CN=Other CA");

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }

    [Fact]
    public void ChainPolicy_NoBundle_SystemStore()
    {
        Assert.Null(UpstreamCertificateTrust.ChainPolicy(null));
    }

    [Fact]
    public void ChainPolicy_Bundle_BuildsAgainstItsRootsAlone()
    {
        using var leaf = CreateLeaf(_ca, "mail.example.com");
        using var foreign = CreateLeaf(_otherCa, "mail.example.com");
        var policy = UpstreamCertificateTrust.ChainPolicy([_ca]);

        Assert.NotNull(policy);
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        using var chain = new X509Chain { ChainPolicy = policy };
        Assert.True(chain.Build(leaf));
        using var other = new X509Chain { ChainPolicy = policy.Clone() };
        Assert.False(other.Build(foreign));
    }

    [Fact]
    public void Accept_VerifiedByTheHandshake_Accepted()
    {
        using var leaf = CreateLeaf(_ca, "mail.example.com");
        Assert.True(UpstreamCertificateTrust.Accept(leaf, null, SslPolicyErrors.None, [_ca]));
        Assert.True(UpstreamCertificateTrust.Accept(leaf, null, SslPolicyErrors.None, null));
    }

    [Fact]
    public void Accept_ChainFailedWithoutBundle_Refused()
    {
        using var leaf = CreateLeaf(_ca, "mail.example.com");
        Assert.False(UpstreamCertificateTrust.Accept(leaf, null, SslPolicyErrors.RemoteCertificateChainErrors, null));
    }

    [Fact]
    public void Accept_ChainFailedAgainstBundleAndSystemStore_Refused()
    {
        using var foreign = CreateLeaf(_otherCa, "mail.example.com");
        Assert.False(UpstreamCertificateTrust.Accept(foreign, null, SslPolicyErrors.RemoteCertificateChainErrors, [_ca]));
    }

    [Fact]
    public void Accept_NameMismatch_RefusedWhateverTheChain()
    {
        using var leaf = CreateLeaf(_ca, "other.example.com");
        Assert.False(UpstreamCertificateTrust.Accept(leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch, [_ca]));
        Assert.False(UpstreamCertificateTrust.Accept(leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, [_ca]));
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 CreateLeaf(X509Certificate2 ca, string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        using var signer = ca.GetECDsaPrivateKey()!;
        var serial = RandomNumberGenerator.GetBytes(8);
        return request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(signer), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
    }
}
