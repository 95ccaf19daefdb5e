using System.CommandLine;

namespace EmailProxy.Bench;

/// <summary>The <c>scaleout</c> subcommand: its own options, and the root's <c>--proxy-dll</c>, <c>--proxy-env</c> and <c>--quiet-wait</c>.</summary>
internal static class ScaleOutCommandLine
{
    public static Command Create(string[] args, Option<FileInfo> proxyDll, Option<string[]> proxyEnv, Option<int?> quietWait)
    {
        var shortRun = new Option<bool>("--short")
        {
            Description = "A short run: 3 repetitions of 500 logins per path, 2 waves of 100 per path, no waiting for quiet cores",
        };
        var smoke = new Option<bool>("--smoke")
        {
            Description = "Smaller still, for the functional tests: every path and wave once with a few logins; figures meaningless",
        };
        var repetitions = Count("--repetitions", "Interleaved repetitions of the warm-token figure (default 7, short 3)", 100);
        var logins = Count("--logins", "Logins per path and repetition (default 2000, short 500)", 100_000);
        var concurrency = Count("--concurrency", "Clients logging in at once for the warm-token figure (default 16)", 1000);
        var waveLogins = Count("--wave-logins", "Logins started at once in each expired-token wave (default 300, short 100)", 1000);
        var waves = Count("--waves", "Expired-token waves per path (default 5, short 2)", 100);

        var command = new Command("scaleout", "Logins per second through 1 file-store proxy, 1 Redis-store proxy, 3 Redis-store proxies behind haproxy and the file-store proxy behind haproxy, and the first wave after the access token expired (issue 18)")
        {
            shortRun, smoke, repetitions, logins, concurrency, waveLogins, waves,
        };
        command.SetAction((result, cancellationToken) =>
        {
            ProxyInstance.DllOverride = result.GetValue(proxyDll)?.FullName;
            ProxyInstance.ExtraEnvironment = (result.GetValue(proxyEnv) ?? []).Select(pair => pair.Split('=', 2))
                .GroupBy(pair => pair[0], StringComparer.Ordinal).ToDictionary(pairs => pairs.Key, pairs => pairs.Last()[1], StringComparer.Ordinal);
            var options = (result.GetValue(smoke) ? ScaleOutOptions.SmokeRun : result.GetValue(shortRun) ? ScaleOutOptions.ShortRun : new ScaleOutOptions()) with { Arguments = args };
            options = options with
            {
                Repetitions = result.GetValue(repetitions) ?? options.Repetitions,
                LoginsPerSample = result.GetValue(logins) ?? options.LoginsPerSample,
                Concurrency = result.GetValue(concurrency) ?? options.Concurrency,
                WaveLogins = result.GetValue(waveLogins) ?? options.WaveLogins,
                WaveRepetitions = result.GetValue(waves) ?? options.WaveRepetitions,
            };
            if (result.GetValue(quietWait) is { } seconds)
            {
                options = options with { QuietWait = TimeSpan.FromSeconds(seconds) };
            }
            return ScaleOutMode.RunAsync(options, cancellationToken);
        });
        return command;
    }

    private static Option<int?> Count(string name, string description, int maximum)
    {
        var option = new Option<int?>(name) { Description = description, HelpName = "N" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && (value < 1 || value > maximum))
            {
                result.AddError($"{name}: {value} is not from 1 to {maximum}");
            }
        });
        return option;
    }
}
