using System.Diagnostics.Metrics;

namespace EmailProxy.Diagnostics;

/// <summary>
/// <c>relay.bytes</c> for one relayed session: its protocol's two series, the tags made
/// once, so that the relay's per-chunk add costs no allocation (and almost nothing with no listener).
/// </summary>
internal sealed class RelayByteCounter(Counter<long> counter, string protocol)
{
    private readonly KeyValuePair<string, object?> _protocol = new("protocol", protocol);
    private static readonly KeyValuePair<string, object?> ToUpstreamTag = new("direction", "to_upstream");
    private static readonly KeyValuePair<string, object?> ToClientTag = new("direction", "to_client");

    /// <summary>Bytes the client sent that were written to the upstream.</summary>
    public void ToUpstream(long bytes) => counter.Add(bytes, _protocol, ToUpstreamTag);

    /// <summary>Bytes the upstream sent that were handed to the client.</summary>
    public void ToClient(long bytes) => counter.Add(bytes, _protocol, ToClientTag);
}
