namespace EmailProxy.Bench;

/// <summary>The start-up part's figures: from starting the proxy's process to its first IMAP greeting, per repetition.</summary>
internal sealed record StartupResult(string Build, IReadOnlyList<double> GreetingMs)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double MedianMs => Stats.Median(GreetingMs);
}
