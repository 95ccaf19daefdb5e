namespace EmailProxy.Bench;

/// <summary>
/// The start-up part's figures, per repetition: from starting the proxy's process to its first IMAP greeting, and the
/// CPU time (user + system) the process had used when the greeting came.
/// </summary>
internal sealed record StartupResult(string Build, IReadOnlyList<double> GreetingMs, IReadOnlyList<double> CpuMs)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double MedianMs => Stats.Median(GreetingMs);
}
