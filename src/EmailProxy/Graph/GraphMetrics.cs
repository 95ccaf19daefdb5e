using System.Diagnostics.Metrics;
using EmailProxy.Diagnostics;

namespace EmailProxy.Graph;

/// <summary>
/// Graph deliveries on the proxy's meter (so /metrics shows them): <c>graph.sends</c> by result and
/// <c>graph.send.seconds</c> by result (from the end of DATA to Graph's answer).
/// </summary>
internal sealed class GraphMetrics(ProxyMetrics metrics)
{
    private readonly Counter<long> _sends = metrics.Meter.CreateCounter<long>("graph.sends", "{message}", "Messages sent through Microsoft Graph, by result");
    private readonly Histogram<double> _duration = metrics.Meter.CreateHistogram<double>("graph.send.seconds", "s", "How long Microsoft Graph deliveries took, by result");

    public void Sent(string result, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("result", result);
        _sends.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
    }
}
