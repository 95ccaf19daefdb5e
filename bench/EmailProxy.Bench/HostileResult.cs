namespace EmailProxy.Bench;

/// <summary>
/// One figure of part 5: the probe's NOOP round trips quiet and under attack, the proxy's VmRSS
/// before, at its peak and after, and what the hostile clients managed (<paramref name="Work"/>:
/// bytes sent for a flood, answers received for guessing).
/// </summary>
internal sealed record HostileResult(
    string Kind,
    int Clients,
    TimeSpan Duration,
    IReadOnlyCollection<double> QuietMs,
    IReadOnlyCollection<double> UnderAttackMs,
    long ResidentBefore,
    long ResidentPeak,
    long ResidentAfter,
    long Connections,
    long ClosedByProxy,
    long Work,
    bool ProbeAlive)
{
    public double QuietP50 => Stats.Percentile(QuietMs, 50);
    public double QuietP99 => Stats.Percentile(QuietMs, 99);
    public double AttackP50 => Stats.Percentile(UnderAttackMs, 50);
    public double AttackP99 => Stats.Percentile(UnderAttackMs, 99);
}
