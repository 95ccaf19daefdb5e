namespace EmailProxy.Bench;

/// <summary>The proxy's VmRSS before and after <see cref="Sessions"/> sessions were opened and held (one fresh proxy per result).</summary>
internal sealed record MemoryResult(
    string Kind,
    int Sessions,
    long ResidentBefore,
    long ResidentAfter,
    TimeSpan OpenTime,
    int Alive,
    int ThreadsBefore,
    int ThreadsAfter,
    int UpstreamSessions)
{
    /// <summary>How busy the cores were meanwhile (set by the caller).</summary>
    public CpuUse? Cpu { get; init; }

    public double BytesPerSession => (double)(ResidentAfter - ResidentBefore) / Sessions;
}
