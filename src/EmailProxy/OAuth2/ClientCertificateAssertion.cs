using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EmailProxy.OAuth2;

/// <summary>
/// The certificate credential of a confidential client (<c>client_certificate</c> + <c>client_key</c>, PEM
/// files): a signed client assertion (RFC 7523) as Microsoft's identity platform asks for it instead of a
/// secret. The JWT is made and signed by Microsoft.IdentityModel (<see cref="JsonWebTokenHandler"/> and
/// <see cref="X509SigningCredentials"/>), never by hand: aud = the token endpoint, iss = sub = the client id,
/// a fresh jti, nbf = iat = now, exp = now + <see cref="Lifetime"/>; the header names the certificate by its
/// SHA-1 (<c>x5t</c>, which older Entra needs; RSA only) and SHA-256 (<c>x5t#S256</c>) thumbprints; RS256
/// for an RSA key, ES256 for a P-256 EC key.
/// </summary>
/// <remarks>
/// The files are read for every token request (once an hour or so), so that a certificate renewed on disk
/// is used without a restart; the configuration reader loads them once at start to refuse a pair that
/// cannot work. The private key lives only in memory and is never logged.
/// </remarks>
internal sealed class ClientCertificateAssertion : IDisposable
{
    /// <summary>How long an assertion is valid: Microsoft's examples use ten minutes.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private readonly X509Certificate2 _certificate;

    private ClientCertificateAssertion(X509Certificate2 certificate) => _certificate = certificate;

    /// <summary>
    /// Loads the certificate and its key; null when they cannot sign, with one line that says why and the
    /// key (<c>client_certificate</c> or <c>client_key</c>) whose file is at fault.
    /// </summary>
    public static ClientCertificateAssertion? TryLoad(string certificatePath, string keyPath, out string problemKey, out string problem)
    {
        problemKey = ConfigKeys.Account.ClientCertificate;
        problem = "";
        if (!File.Exists(certificatePath))
        {
            problem = $"the file {certificatePath} does not exist";
            return null;
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            problem = $"the file {certificatePath} does not hold a readable certificate (PEM or DER): {FirstLine(e.Message)}";
            return null;
        }
        using (certificate)
        {
            problemKey = ConfigKeys.Account.ClientKey;
            if (!File.Exists(keyPath))
            {
                problem = $"the file {keyPath} does not exist";
                return null;
            }
            string pem;
            try
            {
                pem = File.ReadAllText(keyPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"the file {keyPath} cannot be read: {FirstLine(e.Message)}";
                return null;
            }
            AsymmetricAlgorithm key;
            try
            {
                key = ImportKey(certificate, pem);
            }
            catch (NotSupportedException)
            {
                problemKey = ConfigKeys.Account.ClientCertificate;
                problem = $"the certificate in {certificatePath} has neither an RSA nor a P-256 EC key, the kinds a client assertion can be signed with";
                return null;
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                // Never the exception's text: it may quote the key file.
                problem = $"the file {keyPath} does not hold an unencrypted PEM private key (PKCS#8 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY') of the certificate's kind";
                return null;
            }
            using (key)
            {
                try
                {
                    return new ClientCertificateAssertion(key is RSA rsa ? certificate.CopyWithPrivateKey(rsa) : certificate.CopyWithPrivateKey((ECDsa)key));
                }
                catch (Exception e) when (e is ArgumentException or CryptographicException)
                {
                    problem = $"the key in {keyPath} is not the key of the certificate in {certificatePath}: give the key that was made with that certificate";
                    return null;
                }
            }
        }
    }

    /// <summary>A signed client assertion for a request to <paramref name="tokenUrl"/> made at <paramref name="now"/>.</summary>
    public string Create(string clientId, Uri tokenUrl, DateTimeOffset now)
    {
        using var ec = _certificate.GetECDsaPrivateKey();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenUrl.AbsoluteUri,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            Claims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString(),
            },
            AdditionalHeaderClaims = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["x5t#S256"] = Base64UrlEncoder.Encode(_certificate.GetCertHash(HashAlgorithmName.SHA256)),
            },
            SigningCredentials = Credentials(ec),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public void Dispose() => _certificate.Dispose();

    /// <summary>
    /// RS256 through the certificate (which also writes <c>x5t</c>); ES256 through the EC key, as the
    /// library signs ES256 only with an EC key of its own (<c>x5t#S256</c> names the certificate then).
    /// Signature providers are not cached: each request loads the key anew.
    /// </summary>
    private SigningCredentials Credentials(ECDsa? ec)
    {
        var credentials = ec is null
            ? new X509SigningCredentials(_certificate, SecurityAlgorithms.RsaSha256)
            : new SigningCredentials(new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256);
        credentials.CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false };
        return credentials;
    }

    /// <summary>The private key in <paramref name="pem"/>, of the kind of the certificate's public key.</summary>
    private static AsymmetricAlgorithm ImportKey(X509Certificate2 certificate, string pem)
    {
        using (var rsaPublic = certificate.GetRSAPublicKey())
        {
            if (rsaPublic is not null)
            {
                var rsa = RSA.Create();
                try
                {
                    rsa.ImportFromPem(pem);
                    return rsa;
                }
                catch
                {
                    rsa.Dispose();
                    throw;
                }
            }
        }
        using var ecPublic = certificate.GetECDsaPublicKey();
        if (ecPublic is null || ecPublic.KeySize != 256)
        {
            throw new NotSupportedException();
        }
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
