using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.LocalTls;

namespace EmailProxy.Tests.LocalTls;

public sealed class LocalCaNameConstraintsTests
{
    [Theory]
    [InlineData("localhost")]
    [InlineData("LocalHost")]
    [InlineData("proxy.localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("127.200.3.4")]
    [InlineData("::1")]
    [InlineData("10.255.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.20")]
    [InlineData("fd12:3456::1")]
    [InlineData("fe80::1")]
    [InlineData("espocrm-proxy")]
    [InlineData("smtp.espocrm-proxy")]
    [InlineData("203.0.113.5")]
    public void Permits_LocalPrivateOrKnownName_True(string name)
    {
        Assert.True(LocalCaNameConstraints.For(["espocrm-proxy", "203.0.113.5"]).Permits(name));
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("mail.google.com")]
    [InlineData("notlocalhost")]
    [InlineData("localhost.example.com")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("203.0.113.6")]
    [InlineData("2001:db8::1")]
    [InlineData("::2")]
    public void Permits_OtherName_False(string name)
    {
        Assert.False(LocalCaNameConstraints.For(["espocrm-proxy", "203.0.113.5"]).Permits(name));
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("10.0.0.7", "10.0.0.7")]
    [InlineData("::1", null)]
    [InlineData("localhost", null)]
    [InlineData("espocrm-proxy", null)]
    [InlineData("1", null)]
    public void DnsTwinOf_Name_IPv4AddressItselfElseNull(string name, string? expected)
    {
        Assert.Equal(expected, LocalCaNameConstraints.DnsTwinOf(name));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("203.0.113.5", true)]
    [InlineData("localhost", true)]
    [InlineData("127.0.0.2", false)]
    [InlineData("8.8.8.8", false)]
    public void PermitsDnsName_NewCa_EachIPv4NameItWasMadeWithAsADnsName(string name, bool expected)
    {
        var constraints = LocalCaNameConstraints.For(["localhost", "127.0.0.1", "::1", "espocrm-proxy", "203.0.113.5"]);

        Assert.Equal(expected, constraints.PermitsDnsName(name));
    }

    [Fact]
    public void Of_CertificateCarryingTheExtension_ReadsBackTheSameConstraints()
    {
        var constraints = LocalCaNameConstraints.For(["espocrm-proxy", "*.lan", "203.0.113.5", "2001:db8::7"]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(constraints.ToExtension());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var read = LocalCaNameConstraints.Of(certificate);

        Assert.NotNull(read);
        Assert.Equal(constraints.ToString(), read.ToString());
        Assert.True(read.Permits("printer.lan"));
        Assert.True(read.Permits("2001:db8::7"));
    }

    [Fact]
    public void Of_CertificateWithoutTheExtension_Null()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.Null(LocalCaNameConstraints.Of(certificate));
    }
}
