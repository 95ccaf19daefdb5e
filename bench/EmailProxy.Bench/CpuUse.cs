namespace EmailProxy.Bench;

/// <summary>Average cores used during a part by the bench process, the proxy, and all other processes.</summary>
internal sealed record CpuUse(double Seconds, double BenchCores, double ProxyCores, double OtherCores)
{
    public override string ToString() =>
        $"cores busy: bench {BenchCores:0.00}, proxy {ProxyCores:0.00}, other processes {OtherCores:0.00}{(OtherCores >= 0.2 ? " (the machine was shared: figures are lower than on a quiet machine)" : "")}";
}
