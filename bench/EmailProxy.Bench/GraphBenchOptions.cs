namespace EmailProxy.Bench;

/// <summary>The <c>graph</c> mode's work: message size, how many messages are timed, and how many sessions send at once.</summary>
internal sealed record GraphBenchOptions
{
    public bool Short { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Each message's size (100 KB).</summary>
    public int MessageBytes { get; init; } = 100 * 1000;

    /// <summary>Latency: interleaved repetitions, each path's one session sending <see cref="LatencyBatch"/> messages per repetition.</summary>
    public int Repetitions { get; init; } = 5;

    public int LatencyBatch { get; init; } = 40;

    /// <summary>Messages per second: this many sessions per path sending at once…</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>…this many messages each.</summary>
    public int MessagesPerSession { get; init; } = 50;

    /// <summary>A short run (figures printed, not asserted): a few messages only.</summary>
    public static GraphBenchOptions ShortRun { get; } = new()
    {
        Short = true,
        Repetitions = 2,
        LatencyBatch = 10,
        Concurrency = 2,
        MessagesPerSession = 10,
    };
}
