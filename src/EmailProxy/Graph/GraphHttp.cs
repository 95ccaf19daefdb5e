using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.Upstream;

namespace EmailProxy.Graph;

/// <summary>
/// The HTTP clients that talk to Microsoft Graph: one per <c>ca_file</c> of the account's <c>[server]</c>
/// (none: the system's roots only), checking the certificate as the upstream mail connections do
/// (a chain that fails only for an unknown root is accepted when that root is in <c>ca_file</c>).
/// No overall timeout: each request carries its own (<see cref="GraphClient"/>).
/// </summary>
internal sealed class GraphHttp : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<HttpClient>> _clients = new(StringComparer.Ordinal);

    public HttpClient For(ServerOptions? server) =>
        _clients.GetOrAdd(server?.CaFile ?? "", static caFile => new Lazy<HttpClient>(() => Create(caFile))).Value;

    public void Dispose()
    {
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
    }

    private static HttpClient Create(string caFile)
    {
        X509Certificate2Collection? roots = null;
        if (caFile.Length > 0)
        {
            roots = [];
            roots.ImportFromPemFile(caFile);
        }
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                // The same trust as the mail upstream's: the ca_file's roots, else the system store; never a name mismatch.
                CertificateChainPolicy = UpstreamCertificateTrust.ChainPolicy(roots),
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => UpstreamCertificateTrust.Accept(certificate, chain, errors, roots),
            },
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}
