namespace EmailProxy.Bench;

/// <summary>
/// The sessions part's figures for one kind of held session: the proxy's memory before and after (VmRSS and the
/// anonymous part of smaps_rollup), and for relayed sessions the NOOP round trips through the proxy (each to another
/// held session, to the real Dovecot and back) and straight to Dovecot, alternating, while they are held.
/// </summary>
internal sealed record SessionsResult(
    string Kind,
    int Sessions,
    ProcessMemory Before,
    ProcessMemory After,
    TimeSpan OpenTime,
    int Alive,
    int ThreadsBefore,
    int ThreadsAfter,
    IReadOnlyList<double> ProxyNoopMs,
    IReadOnlyList<double> DirectNoopMs)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double RssPerSession => (double)(After.Rss - Before.Rss) / Sessions;

    public double AnonymousPerSession => (double)(After.Anonymous - Before.Anonymous) / Sessions;

    public double AddedNoopP50Microseconds => (Stats.Median(ProxyNoopMs) - Stats.Median(DirectNoopMs)) * 1000;
}
