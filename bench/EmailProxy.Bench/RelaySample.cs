namespace EmailProxy.Bench;

/// <summary>One timed sample: a path's transfers of one workload in one repetition, and the relaying process's CPU meanwhile (zero for direct).</summary>
internal sealed record RelaySample(RelayPath Path, long Bytes, TimeSpan Elapsed, TimeSpan RelayCpu)
{
    public double MegabytesPerSecond => Stats.MegabytesPerSecond(Bytes, Elapsed);
}
