using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>The bench's command line (System.CommandLine, as the program's own): options into a <see cref="BenchOptions"/>.</summary>
internal static class BenchCommandLine
{
    /// <summary>The parts <c>--skip</c> can leave out.</summary>
    public static readonly string[] Parts = ["throughput", "latency", "rate", "memory", "hostile", "sessions", "startup"];

    /// <summary>Parses <paramref name="args"/>; runs <paramref name="run"/> with the options, or prints help or the errors (exit code 1).</summary>
    public static Task<int> InvokeAsync(string[] args, Func<BenchOptions, CancellationToken, Task<int>> run)
    {
        var quick = new Option<bool>("--quick")
        {
            Description = "A short run (well under a minute): smaller message, fewer samples, 1,000 sessions only",
        };
        var shortRun = new Option<bool>("--short")
        {
            Description = "The shortest run that still goes through every part (the functional tests run it; its figures say little)",
        };
        var smoke = new Option<bool>("--smoke")
        {
            Description = "Smaller still than --short: every part once, its figures meaningless (the functional tests run it to check the bench completes)",
        };
        var only = new Option<string[]>("--only")
        {
            Description = $"Run only these parts: {string.Join(", ", Parts)} (comma-separated or repeated)",
            HelpName = "PARTS",
            CustomParser = CommaSeparated,
        };
        only.Validators.Add(ValidParts);
        var skip = new Option<string[]>("--skip")
        {
            Description = $"Leave out parts: {string.Join(", ", Parts)} (comma-separated or repeated)",
            HelpName = "PARTS",
            CustomParser = CommaSeparated,
        };
        skip.Validators.Add(ValidParts);
        var messageMb = new Option<int?>("--message-mb")
        {
            Description = "Size in MiB of the message FETCHed in the throughput part (default 32, quick 8)",
            HelpName = "N",
        };
        messageMb.Validators.Add(result => InRange(result, 1, 1024));
        var quietWait = new Option<int?>("--quiet-wait")
        {
            Description = "Before each part, wait up to S seconds for other processes to go quiet (default 10, quick 0)",
            HelpName = "S",
        };
        quietWait.Validators.Add(result => InRange(result, 0, 600));
        var idleSessions = new Option<int[]>("--idle-sessions")
        {
            Description = "Part 4: numbers of idle sessions (greeted, not logged in) to measure, a fresh proxy each (default 1000,3000,10000; quick 1000)",
            HelpName = "N[,N]",
            CustomParser = CommaSeparatedCounts,
        };
        var relayedSessions = new Option<int[]>("--relayed-sessions")
        {
            Description = "Part 4: numbers of logged-in, relayed sessions to measure, capped by ulimit -n (default 1000,10000; quick 1000)",
            HelpName = "N[,N]",
            CustomParser = CommaSeparatedCounts,
        };
        var hold = new Option<int?>("--hold")
        {
            Description = "The sessions part: after each relayed figure, keep the sessions open S seconds, printing the proxy's pid (for dotnet-gcdump)",
            HelpName = "S",
        };
        hold.Validators.Add(result => InRange(result, 0, 3600));
        var proxyDll = new Option<FileInfo>("--proxy-dll")
        {
            Description = "Measure another build of emailproxy.dll (default: the one built with the bench)",
            HelpName = "PATH",
        };
        proxyDll.AcceptExistingOnly();
        var proxyEnv = new Option<string[]>("--proxy-env")
        {
            Description = "Set an environment variable for the proxy process only (repeatable), e.g. DOTNET_gcServer=0",
            HelpName = "NAME=VALUE",
        };
        proxyEnv.Validators.Add(result =>
        {
            foreach (var pair in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (pair.IndexOf('=', StringComparison.Ordinal) <= 0)
                {
                    result.AddError($"--proxy-env: '{pair}' is not NAME=VALUE");
                }
            }
        });

        var root = new RootCommand("The Email OAuth2 Proxy bench: the real proxy against a direct connection to the same upstream (docs/performance.md)")
        {
            quick, shortRun, smoke, only, skip, messageMb, quietWait, idleSessions, relayedSessions, hold, proxyDll, proxyEnv,
        };
        // bench relay [--short]: issue 15, items 1-2 (RelayCommandLine.cs); the root's proxy and quiet options apply to it too.
        proxyDll.Recursive = proxyEnv.Recursive = quietWait.Recursive = true;
        root.Subcommands.Add(RelayCommandLine.Create(args, proxyDll, proxyEnv, quietWait));
        // bench graph [--short]: issue 19 (GraphCommandLine.cs).
        root.Subcommands.Add(GraphCommandLine.Create(args, proxyDll, proxyEnv));
        // bench scaleout [--short|--smoke]: issue 18, logins per second with 1 and 3 replicas (ScaleOutCommandLine.cs).
        root.Subcommands.Add(ScaleOutCommandLine.Create(args, proxyDll, proxyEnv, quietWait));
        root.SetAction((result, cancellationToken) =>
        {
            var options = result.GetValue(smoke) ? BenchOptions.SmokeRun
                : result.GetValue(shortRun) ? BenchOptions.ShortRun
                : result.GetValue(quick) ? BenchOptions.QuickRun
                : new BenchOptions();
            var skipped = (result.GetValue(skip) ?? []).ToHashSet(StringComparer.Ordinal);
            if (result.GetValue(only) is { Length: > 0 } onlyParts)
            {
                skipped.UnionWith(Parts.Except(onlyParts, StringComparer.Ordinal));
            }
            options = options with
            {
                Arguments = args,
                Skip = skipped,
                ProxyDll = result.GetValue(proxyDll)?.FullName,
                ProxyEnvironment = (result.GetValue(proxyEnv) ?? []).Select(pair => pair.Split('=', 2))
                    .GroupBy(pair => pair[0], StringComparer.Ordinal).ToDictionary(pairs => pairs.Key, pairs => pairs.Last()[1], StringComparer.Ordinal),
            };
            if (result.GetValue(messageMb) is { } mb)
            {
                options = options with { MessageBytes = mb * 1024 * 1024 };
            }
            if (result.GetValue(quietWait) is { } seconds)
            {
                options = options with { QuietWait = TimeSpan.FromSeconds(seconds) };
            }
            if (result.GetValue(hold) is { } holdSeconds)
            {
                options = options with { SessionHold = TimeSpan.FromSeconds(holdSeconds) };
            }
            if (result.GetValue(idleSessions) is { Length: > 0 } idle)
            {
                options = options with { IdleSessionCounts = idle };
            }
            if (result.GetValue(relayedSessions) is { Length: > 0 } relayed)
            {
                options = options with { RelayedSessionCounts = relayed };
            }
            return run(options, cancellationToken);
        });
        return root.Parse(args).InvokeAsync();
    }

    private static void ValidParts(OptionResult result)
    {
        foreach (var part in result.GetValueOrDefault<string[]>() ?? [])
        {
            if (!Parts.Contains(part, StringComparer.Ordinal))
            {
                result.AddError($"{result.IdentifierToken?.Value}: '{part}' is not a part; the parts are {string.Join(", ", Parts)}");
            }
        }
    }

    private static string[] CommaSeparated(ArgumentResult result) =>
        [.. result.Tokens.SelectMany(token => token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static int[] CommaSeparatedCounts(ArgumentResult result)
    {
        var counts = new List<int>();
        foreach (var text in CommaSeparated(result))
        {
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is > 0 and <= 100_000)
            {
                counts.Add(count);
            }
            else
            {
                result.AddError($"'{text}' is not a number of sessions from 1 to 100000");
            }
        }
        return [.. counts];
    }

    private static void InRange(OptionResult result, int minimum, int maximum)
    {
        if (result.GetValueOrDefault<int?>() is { } value && (value < minimum || value > maximum))
        {
            result.AddError($"{result.IdentifierToken?.Value}: {value} is not from {minimum} to {maximum}");
        }
    }
}
