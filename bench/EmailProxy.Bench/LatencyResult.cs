namespace EmailProxy.Bench;

/// <summary>
/// Sequential logins, one at a time: the proxy's LOGIN→tagged OK (plaintext, warm token), and a direct
/// login doing what the proxy does upstream (TCP connect, TLS handshake with the same certificate check,
/// greeting, AUTHENTICATE XOAUTH2→OK), with the AUTHENTICATE round trip alone beside it. Milliseconds.
/// </summary>
internal sealed record LatencyResult(IReadOnlyList<double> ProxyMs, IReadOnlyList<double> DirectMs, IReadOnlyList<double> DirectAuthenticateOnlyMs)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double ProxyP50 => Stats.Percentile(ProxyMs, 50);

    public double ProxyP99 => Stats.Percentile(ProxyMs, 99);

    public double DirectP50 => Stats.Percentile(DirectMs, 50);

    public double DirectP99 => Stats.Percentile(DirectMs, 99);

    public double AddedP50 => ProxyP50 - DirectP50;
}
