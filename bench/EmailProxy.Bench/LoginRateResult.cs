namespace EmailProxy.Bench;

/// <summary>
/// One run of the login-rate part: <see cref="Logins"/> complete logins (connect, greeting, login, OK, close)
/// by <see cref="Concurrency"/> clients at once, through the proxy or directly.
/// </summary>
internal sealed record LoginRateResult(
    string Path,
    int Concurrency,
    int Logins,
    TimeSpan Elapsed,
    int Failures,
    double P50Ms,
    double P99Ms,
    TimeSpan ProxyProcessCpu)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double LoginsPerSecond => (Logins - Failures) / Elapsed.TotalSeconds;
}
