using Prometheus;

namespace EmailProxy.Diagnostics;

/// <summary>
/// Publishes <see cref="ProxyMetrics"/>' meter in Prometheus text with prometheus-net: a registry of
/// this proxy's own (not prometheus-net's static default one) fed by its <see cref="MeterAdapter"/>,
/// which listens to this meter only. prometheus-net's default collectors (process, .NET event
/// counters, its own debug metrics, every other meter in the process) are deliberately off: their
/// labels are not ours to bound, and the host's process figures belong to node_exporter or the
/// container runtime. A series unchanged for a day (the longest prometheus-net allows; its default is five
/// minutes) is dropped until it changes again, which Prometheus reads as a counter reset (<c>increase()</c>
/// and <c>rate()</c> handle it); the gauges are read at every scrape and never drop. Expiry is not needed
/// for memory: the number of series is bounded by the configuration (see <see cref="ProxyMetrics"/>).
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    /// <summary>Histogram buckets in seconds, from a fast local answer to the longest time limits (30 s token request and TLS handshake).</summary>
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

    private readonly IDisposable _adapter;

    public PrometheusExport(ProxyMetrics metrics)
    {
        Registry = Metrics.NewCustomRegistry();
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            // Its default is the static default factory, which would publish into prometheus-net's global registry instead.
            MetricFactory = Metrics.WithCustomRegistry(Registry),
            InstrumentFilterPredicate = instrument => instrument.Meter == metrics.Meter,
            MetricsExpireAfter = TimeSpan.FromDays(1),
            ResolveHistogramBuckets = instrument => metrics.IsDurationInSeconds(instrument) ? SecondsBuckets : MeterAdapterOptions.DefaultHistogramBuckets,
        });
    }

    /// <summary>The registry <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    public void Dispose() => _adapter.Dispose();
}
