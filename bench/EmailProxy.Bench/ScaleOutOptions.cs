namespace EmailProxy.Bench;

/// <summary>The <c>scaleout</c> mode's work: logins per sample, clients at once, repetitions and the expired-token waves (issue 18).</summary>
internal sealed record ScaleOutOptions
{
    public bool Short { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Interleaved repetitions of the warm-token figure: each path once per repetition, in a rotating order.</summary>
    public int Repetitions { get; init; } = 7;

    /// <summary>Complete logins timed together as one sample of a path.</summary>
    public int LoginsPerSample { get; init; } = 2000;

    /// <summary>Clients logging in at once.</summary>
    public int Concurrency { get; init; } = 16;

    /// <summary>Untimed logins per path before the first repetition (JIT, the replicas' first read of the shared record).</summary>
    public int WarmUpLogins { get; init; } = 300;

    /// <summary>The second figure: logins started all at once right after the access token expired…</summary>
    public int WaveLogins { get; init; } = 300;

    /// <summary>…this many times per path, a and c alternating.</summary>
    public int WaveRepetitions { get; init; } = 5;

    /// <summary>Before each figure, wait up to this long for other processes to leave the cores alone.</summary>
    public TimeSpan QuietWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A short run: figures worth a glance, in well under a minute.</summary>
    public static ScaleOutOptions ShortRun { get; } = new()
    {
        Short = true,
        Repetitions = 3,
        LoginsPerSample = 500,
        WarmUpLogins = 100,
        WaveLogins = 100,
        WaveRepetitions = 2,
        QuietWait = TimeSpan.Zero,
    };

    /// <summary>Smaller still, for the functional test only: every path and wave once, with a few logins; the figures mean nothing.</summary>
    public static ScaleOutOptions SmokeRun { get; } = ShortRun with
    {
        Repetitions = 1,
        LoginsPerSample = 40,
        Concurrency = 4,
        WarmUpLogins = 8,
        WaveLogins = 20,
        WaveRepetitions = 1,
    };
}
