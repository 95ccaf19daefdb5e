using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Certificate checks that trust one CA (read from a PEM file, as a person installs it) and nothing
/// else, host name included: what EspoCRM does once the proxy's CA is installed. Never a blanket accept.
/// </summary>
internal static class TrustedCa
{
    public static RemoteCertificateValidationCallback From(string caPemPath)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(caPemPath);
        return (_, certificate, _, errors) =>
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
        };
    }
}
