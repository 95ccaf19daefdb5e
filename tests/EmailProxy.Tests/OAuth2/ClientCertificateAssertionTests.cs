using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EmailProxy.Tests.OAuth2;

/// <summary>The signed client assertion (RFC 7523) as Microsoft asks for it, and the certificate pairs that cannot make one.</summary>
public sealed class ClientCertificateAssertionTests : IDisposable
{
    private const string ClientId = "00000000-1111-2222-3333-444444444444";
    private static readonly Uri TokenUrl = new("https://login.example.test/contoso.example/oauth2/v2.0/token");
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static ClientCertificateAssertion Load(TestClientCertificate pair)
    {
        var loaded = ClientCertificateAssertion.TryLoad(pair.CertificatePath, pair.KeyPath, out var key, out var problem);
        Assert.True(loaded is not null, $"{key}: {problem}");
        return loaded;
    }

    [Fact]
    public void Create_RsaCertificate_HeaderAndClaimsAsMicrosoftAsks()
    {
        var pair = TestClientCertificate.Create(_temp);
        using var assertion = Load(pair);

        var jwt = new JsonWebToken(assertion.Create(ClientId, TokenUrl, Now));

        Assert.Equal("RS256", jwt.Alg);
        Assert.Equal(Base64UrlEncoder.Encode(pair.Certificate.GetCertHash(HashAlgorithmName.SHA256)), jwt.GetHeaderValue<string>("x5t#S256"));
        Assert.Equal(Base64UrlEncoder.Encode(pair.Certificate.GetCertHash()), jwt.GetHeaderValue<string>("x5t"));
        Assert.Equal(TokenUrl.AbsoluteUri, Assert.Single(jwt.Audiences));
        Assert.Equal(ClientId, jwt.Issuer);
        Assert.Equal(ClientId, jwt.Subject);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.Equal(Now.UtcDateTime, jwt.ValidFrom);
        Assert.Equal((Now + TimeSpan.FromMinutes(10)).UtcDateTime, jwt.ValidTo);
    }

    [Fact]
    public void Create_TwoAssertions_EachHasItsOwnJti()
    {
        using var assertion = Load(TestClientCertificate.Create(_temp));

        var first = new JsonWebToken(assertion.Create(ClientId, TokenUrl, Now));
        var second = new JsonWebToken(assertion.Create(ClientId, TokenUrl, Now));

        Assert.NotEqual(first.Id, second.Id);
    }

    [Theory]
    [InlineData(false, "RS256")]
    [InlineData(true, "ES256")]
    public async Task Create_Certificate_SignatureVerifiesWithTheCertificatesPublicKey(bool ellipticCurve, string algorithm)
    {
        var pair = TestClientCertificate.Create(_temp, ellipticCurve: ellipticCurve);
        using var assertion = Load(pair);
        var now = DateTimeOffset.UtcNow;

        var token = assertion.Create(ClientId, TokenUrl, now);
        using var publicEc = pair.Certificate.GetECDsaPublicKey();
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = ClientId,
            ValidAudience = TokenUrl.AbsoluteUri,
            IssuerSigningKey = ellipticCurve ? new ECDsaSecurityKey(publicEc) : new X509SecurityKey(pair.Certificate),
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(algorithm, new JsonWebToken(token).Alg);
    }

    [Fact]
    public void TryLoad_CertificateFileMissing_NamesClientCertificate()
    {
        var pair = TestClientCertificate.Create(_temp);
        var missing = _temp.Combine("nope.pem");

        Assert.Null(ClientCertificateAssertion.TryLoad(missing, pair.KeyPath, out var key, out var problem));
        Assert.Equal("client_certificate", key);
        Assert.Equal($"the file {missing} does not exist", problem);
    }

    [Fact]
    public void TryLoad_KeyFileMissing_NamesClientKey()
    {
        var pair = TestClientCertificate.Create(_temp);
        var missing = _temp.Combine("nope.key");

        Assert.Null(ClientCertificateAssertion.TryLoad(pair.CertificatePath, missing, out var key, out var problem));
        Assert.Equal("client_key", key);
        Assert.Equal($"the file {missing} does not exist", problem);
    }

    [Fact]
    public void TryLoad_KeyOfAnotherCertificate_SaysTheKeyIsNotTheCertificates()
    {
        var pair = TestClientCertificate.Create(_temp, "one");
        var other = TestClientCertificate.Create(_temp, "two");

        Assert.Null(ClientCertificateAssertion.TryLoad(pair.CertificatePath, other.KeyPath, out var key, out var problem));
        Assert.Equal("client_key", key);
        Assert.Contains("is not the key of the certificate", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoad_CertificateFileIsNotACertificate_NamesClientCertificate()
    {
        var pair = TestClientCertificate.Create(_temp);
        var garbage = _temp.WriteFile("garbage.pem", "not a certificate");

        Assert.Null(ClientCertificateAssertion.TryLoad(garbage, pair.KeyPath, out var key, out var problem));
        Assert.Equal("client_certificate", key);
        Assert.Contains("does not hold a readable certificate", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoad_KeyFileHoldsTheCertificate_SaysItIsNotAPrivateKeyWithoutQuotingIt()
    {
        var pair = TestClientCertificate.Create(_temp);

        Assert.Null(ClientCertificateAssertion.TryLoad(pair.CertificatePath, pair.CertificatePath, out var key, out var problem));
        Assert.Equal("client_key", key);
        Assert.Contains("does not hold an unencrypted PEM private key", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN", problem, StringComparison.Ordinal);
    }
}
