namespace EmailProxy.Bench;

/// <summary>How much work each part of the bench does; <c>--quick</c> shrinks everything to run in well under a minute.</summary>
internal sealed record BenchOptions
{
    public bool Quick { get; init; }

    /// <summary><c>--short</c>: every part, each as small as still says something (the functional tests run it).</summary>
    public bool Short { get; init; }

    /// <summary><c>--smoke</c>: every part at the smallest size that still runs its whole path (only the functional test runs it).</summary>
    public bool Smoke { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Size of the one message served by FETCH 1 BODY[].</summary>
    public int MessageBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>Rounds of the throughput part; each round times direct, then proxy.</summary>
    public int ThroughputRounds { get; init; } = 8;

    /// <summary>FETCHes per path and round.</summary>
    public int FetchesPerRound { get; init; } = 4;

    /// <summary>Sequential logins per path for the latency part (after the warm-up).</summary>
    public int LatencySamples { get; init; } = 2000;

    public int LatencyWarmup { get; init; } = 200;

    /// <summary>Logins per run of the login-rate part.</summary>
    public int RateLogins { get; init; } = 5000;

    /// <summary>Concurrent clients of the login-rate part, one run each.</summary>
    public IReadOnlyList<int> RateConcurrency { get; init; } = [8, 16, 32];

    /// <summary>Idle sessions opened before login (one fresh proxy per figure).</summary>
    public IReadOnlyList<int> IdleSessionCounts { get; init; } = [1000, 3000, 10000];

    /// <summary>Authenticated, relayed sessions held open (one fresh proxy per figure); capped by the open-file limit.</summary>
    public IReadOnlyList<int> RelayedSessionCounts { get; init; } = [1000, 10000];

    /// <summary>Part 5: how long the hostile clients of each figure run.</summary>
    public TimeSpan HostileDuration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Part 5: NOOP round trips of the probe before the hostile clients start.</summary>
    public int HostileQuietSamples { get; init; } = 1000;

    /// <summary>The sessions part: idle connections before login held by one proxy (a fresh proxy per figure).</summary>
    public IReadOnlyList<int> SessionIdleCounts { get; init; } = [10000];

    /// <summary>The sessions part: sessions logged in and relayed to the real Dovecot held by one proxy.</summary>
    public IReadOnlyList<int> SessionRelayedCounts { get; init; } = [1000];

    /// <summary>The sessions part: NOOP round trips through the proxy (and as many direct) while the relayed sessions are held.</summary>
    public int SessionNoopSamples { get; init; } = 2000;

    /// <summary>The sessions part: after each figure, hold the sessions this long (for dotnet-gcdump or dotnet-counters on the printed pid).</summary>
    public TimeSpan SessionHold { get; init; } = TimeSpan.Zero;

    /// <summary>The start-up part: processes started, one after another.</summary>
    public int StartupRepetitions { get; init; } = 5;

    /// <summary>Before each part, wait up to this long for other processes to leave the cores alone.</summary>
    public TimeSpan QuietWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Another build of the proxy to measure (e.g. a patched copy); null: the one built with the bench.</summary>
    public string? ProxyDll { get; init; }

    /// <summary>Environment variables set for the proxy process only (<c>--proxy-env NAME=VALUE</c>, e.g. DOTNET_gcServer=0).</summary>
    public IReadOnlyDictionary<string, string> ProxyEnvironment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Skip parts: "throughput", "latency", "rate", "memory", "hostile", "sessions", "startup".</summary>
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public static BenchOptions QuickRun { get; } = new()
    {
        Quick = true,
        MessageBytes = 8 * 1024 * 1024,
        ThroughputRounds = 3,
        FetchesPerRound = 3,
        LatencySamples = 300,
        LatencyWarmup = 50,
        RateLogins = 1000,
        RateConcurrency = [16],
        IdleSessionCounts = [1000],
        RelayedSessionCounts = [1000],
        HostileDuration = TimeSpan.FromSeconds(6),
        HostileQuietSamples = 300,
        QuietWait = TimeSpan.Zero,
    };

    /// <summary>
    /// <c>--short</c>: every part, each cut to what still runs its whole path (well under a minute on two cores); the
    /// figures are printed but say little; the functional test ShortBenchTests runs it.
    /// </summary>
    public static BenchOptions ShortRun { get; } = new()
    {
        Quick = true,
        Short = true,
        MessageBytes = 4 * 1024 * 1024,
        ThroughputRounds = 2,
        FetchesPerRound = 2,
        LatencySamples = 100,
        LatencyWarmup = 20,
        RateLogins = 300,
        RateConcurrency = [8],
        IdleSessionCounts = [300],
        RelayedSessionCounts = [50],
        HostileDuration = TimeSpan.FromSeconds(2),
        HostileQuietSamples = 100,
        SessionIdleCounts = [1000],
        SessionRelayedCounts = [50],
        SessionNoopSamples = 200,
        StartupRepetitions = 2,
        QuietWait = TimeSpan.Zero,
    };

    /// <summary>
    /// <c>--smoke</c>: every part through its whole path once more than nothing (1 MiB message, 20 latency samples,
    /// 50 logins, 50 idle and 10 relayed sessions, 100 idle and 10 Dovecot sessions, 1 s of each hostile client, one
    /// start-up), with short memory settling; the figures mean nothing. Only the functional test ShortBenchTests runs
    /// it, to check that the bench still completes; <c>--short</c> stays the shortest run worth reading.
    /// </summary>
    public static BenchOptions SmokeRun { get; } = ShortRun with
    {
        Smoke = true,
        MessageBytes = 1024 * 1024,
        ThroughputRounds = 1,
        FetchesPerRound = 1,
        LatencySamples = 20,
        LatencyWarmup = 5,
        RateLogins = 50,
        RateConcurrency = [4],
        IdleSessionCounts = [50],
        RelayedSessionCounts = [10],
        HostileDuration = TimeSpan.FromSeconds(1),
        HostileQuietSamples = 20,
        SessionIdleCounts = [100],
        SessionRelayedCounts = [10],
        SessionNoopSamples = 20,
        StartupRepetitions = 1,
    };
}
