namespace EmailProxy.Bench;

/// <summary>Average cores used during a workload by the bench, the relays (proxies and socats), Dovecot, and all other processes.</summary>
internal sealed record RelayCpuUse(double Seconds, double BenchCores, double RelayCores, double DovecotCores, double OtherCores)
{
    public override string ToString() =>
        $"cores busy: bench {BenchCores:0.00}, relays {RelayCores:0.00}, dovecot {DovecotCores:0.00}, other processes {OtherCores:0.00}{(OtherCores >= 0.2 ? " (the machine was shared: figures are noisier)" : "")}";
}
