namespace EmailProxy.Bench;

/// <summary>Bulk FETCH through the proxy and directly, in alternating rounds over one session each.</summary>
internal sealed record ThroughputResult(
    int MessageBytes,
    long DirectBytes,
    TimeSpan DirectTime,
    long ProxyBytes,
    TimeSpan ProxyTime,
    TimeSpan ProxyProcessCpu,
    TimeSpan BenchCpuDirect,
    TimeSpan BenchCpuProxy,
    IReadOnlyList<double> RoundRatios)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double DirectMegabytesPerSecond => Stats.MegabytesPerSecond(DirectBytes, DirectTime);

    public double ProxyMegabytesPerSecond => Stats.MegabytesPerSecond(ProxyBytes, ProxyTime);

    public double Ratio => ProxyMegabytesPerSecond / DirectMegabytesPerSecond;
}
