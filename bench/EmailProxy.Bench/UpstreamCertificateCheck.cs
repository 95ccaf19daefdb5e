using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// The certificate check of the bench's direct client: what the proxy's upstream connector does with a
/// <c>ca_file</c>, so that the direct path pays the same TLS work as the proxy's: accept a clean chain, or one
/// that fails only for its unknown root when it builds against the CA as a custom root.
/// </summary>
internal static class UpstreamCertificateCheck
{
    public static bool Validate(TestCertificates certificates, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
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
        chain.ChainPolicy.CustomTrustStore.Add(certificates.CaCertificate);
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
}
