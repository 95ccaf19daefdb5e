using System.Net.Security;
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
        return (_, certificate, _, errors) => TestCertificates.ValidateAgainst(ca, certificate, errors);
    }
}
