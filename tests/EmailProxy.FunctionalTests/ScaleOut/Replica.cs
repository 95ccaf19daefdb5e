using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>One proxy process of a <see cref="ReplicaSet"/>: its own folder, configuration and ports.</summary>
internal sealed record Replica(string Name, string Directory, string ConfigPath, int ImapPort, int SmtpPort, int PopPort, int HttpPort, ProxyProcess Process)
{
    /// <summary>Its own HTTP listener (status page, control endpoints), not the balancer's.</summary>
    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort}/");
}
