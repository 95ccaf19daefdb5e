using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.Upstream;

/// <summary>
/// Which upstream certificates the proxy accepts: a chain to a root of the system store, or, for a server with a
/// <c>ca_file</c>, to a root of that bundle; never a name mismatch. For a server with a <c>ca_file</c> the handshake's
/// own chain is built against the bundle alone (<see cref="ChainPolicy"/>), and the system store is asked only if that
/// fails: before, every login built the chain against the system store (about 145 roots, 0.6 ms of CPU on the bench's
/// machine, where it always fails for a private CA) and then again against the bundle (docs/performance.md, "Logins").
/// </summary>
internal static class UpstreamCertificateTrust
{
    /// <summary>The handshake's chain policy: null (the system store) without a bundle, else the bundle's roots alone.</summary>
    public static X509ChainPolicy? ChainPolicy(X509Certificate2Collection? bundle)
    {
        if (bundle is null)
        {
            return null;
        }
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(bundle);
        return policy;
    }

    /// <summary>
    /// The handshake's verdict on a certificate checked under <see cref="ChainPolicy"/>: accepted when it verified;
    /// with a bundle, a chain that failed against it (and nothing else failed) is built once more against the system store.
    /// </summary>
    public static bool Accept(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection? bundle)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (bundle is null || errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is not X509Certificate2 leaf)
        {
            return false;
        }
        using var chain = new X509Chain();
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
