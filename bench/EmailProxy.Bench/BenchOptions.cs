using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>How much work each part of the bench does; <c>--quick</c> shrinks everything to run in well under a minute.</summary>
internal sealed record BenchOptions
{
    public bool Quick { get; init; }

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
    public IReadOnlyList<int> IdleSessionCounts { get; init; } = [1000, 10000];

    /// <summary>Authenticated, relayed sessions held open (one fresh proxy per figure); capped by the open-file limit.</summary>
    public IReadOnlyList<int> RelayedSessionCounts { get; init; } = [1000, 10000];

    /// <summary>Before each part, wait up to this long for other processes to leave the cores alone.</summary>
    public TimeSpan QuietWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Another build of the proxy to measure (e.g. a patched copy); null: the one built with the bench.</summary>
    public string? ProxyDll { get; init; }

    /// <summary>Environment variables set for the proxy process only (<c>--proxy-env NAME=VALUE</c>, e.g. DOTNET_gcServer=0).</summary>
    public IReadOnlyDictionary<string, string> ProxyEnvironment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Skip parts: "throughput", "latency", "rate", "memory".</summary>
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
        QuietWait = TimeSpan.Zero,
    };

    public static string Usage =>
        """
        usage: dotnet run -c Release --project bench/EmailProxy.Bench -- [--quick] [--skip PART[,PART]] [--message-mb N]
                                                                  [--quiet-wait SECONDS] [--proxy-dll PATH] [--proxy-env NAME=VALUE]...

          --quick              a short run (well under a minute): smaller message, fewer samples, 1,000 sessions only
          --skip PARTS         leave out parts: throughput, latency, rate, memory (comma-separated)
          --message-mb N       size of the message FETCHed in the throughput part (default 32, quick 8)
          --quiet-wait S       before each part, wait up to S seconds for other processes to go quiet (default 10, quick 0)
          --proxy-dll PATH     measure another build of emailproxy.dll (default: the one built with the bench)
          --proxy-env N=V      set an environment variable for the proxy process only (repeatable), e.g. DOTNET_gcServer=0
        """;

    /// <summary>Parses the command line; null (after printing why) when it cannot be used.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args)
    {
        var options = args.Contains("--quick") ? QuickRun : new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--skip" when i + 1 < args.Count:
                    options = options with { Skip = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal) };
                    break;
                case "--message-mb" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var mb) && mb is > 0 and <= 1024:
                    options = options with { MessageBytes = mb * 1024 * 1024 };
                    i++;
                    break;
                case "--quiet-wait" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 600:
                    options = options with { QuietWait = TimeSpan.FromSeconds(seconds) };
                    i++;
                    break;
                case "--proxy-dll" when i + 1 < args.Count && File.Exists(args[i + 1]):
                    options = options with { ProxyDll = Path.GetFullPath(args[++i]) };
                    break;
                case "--proxy-env" when i + 1 < args.Count && args[i + 1].IndexOf('=', StringComparison.Ordinal) > 0:
                    var pair = args[++i];
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    options = options with { ProxyEnvironment = new Dictionary<string, string>(options.ProxyEnvironment, StringComparer.Ordinal) { [pair[..equals]] = pair[(equals + 1)..] } };
                    break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete argument: {args[i]}");
                    Console.Error.WriteLine(Usage);
                    return null;
            }
        }
        return options;
    }
}
