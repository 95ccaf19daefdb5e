namespace EmailProxy.Bench;

/// <summary>
/// One workload of one client-side mode: every path's samples, and how busy the machine was meanwhile. Rates are
/// medians of the samples; CPU per GiB is the relaying process's CPU over all its samples' bytes (CPU time is read in
/// 10 ms ticks, too coarse for one sample).
/// </summary>
internal sealed record RelayFigure(RelayWorkload Workload, bool ClientTls, IReadOnlyList<RelaySample> Samples, RelayCpuUse Cpu)
{
    public const double RateAim = 0.95;
    public const double CpuAim = 1.2;

    public double Rate(RelayPath path) => Stats.Median([.. Samples.Where(s => s.Path == path).Select(s => s.MegabytesPerSecond)]);

    /// <summary>CPU-seconds of the relaying process per GiB it carried (NaN for direct).</summary>
    public double CpuPerGib(RelayPath path)
    {
        var samples = Samples.Where(s => s.Path == path).ToList();
        var bytes = samples.Sum(s => s.Bytes);
        return path == RelayPath.Direct || bytes == 0 ? double.NaN : samples.Sum(s => s.RelayCpu.TotalSeconds) / (bytes / (1024.0 * 1024 * 1024));
    }

    public double RateRatio => Rate(RelayPath.Proxy) / Rate(RelayPath.Socat);

    public double CpuRatio => CpuPerGib(RelayPath.Proxy) / CpuPerGib(RelayPath.Socat);

    public bool Met => RateRatio >= RateAim && CpuRatio <= CpuAim;
}
