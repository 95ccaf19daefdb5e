using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// <c>bench scaleout</c>: logins per second (whole IMAP sessions up to the LOGIN's OK, many clients at once) through
/// a. one file-store proxy, b. one Redis-store proxy, c. three Redis-store proxies behind haproxy in TCP mode and d. the
/// file-store proxy behind the same haproxy, in interleaved repetitions with a warm access token; then the first wave of
/// logins right after the access token expired, a against c, with the refresh requests the identity server saw
/// (issue 18; docs/performance.md).
/// </summary>
internal static class ScaleOutMode
{
    public static async Task<int> RunAsync(ScaleOutOptions options, CancellationToken stopping)
    {
        Report.Line("Email OAuth2 Proxy bench: scaleout");
        Report.Line($"command:      dotnet run -c Release --project bench/EmailProxy.Bench -- {string.Join(' ', options.Arguments)}");
        foreach (var line in MachineInfo.Describe())
        {
            Report.Line(line);
        }
        Report.Line($"redis:        {FirstLine("redis-server", "--version")}");
        Report.Line($"haproxy:      {FirstLine("haproxy", "-v")}");
        Report.Line($"work:         warm token: {options.Repetitions} interleaved repetitions × {options.LoginsPerSample} logins per path, {options.Concurrency} clients at once; "
            + $"expired token: {options.WaveRepetitions} wave(s) of {options.WaveLogins} logins at once per path");
        Report.Line();

        using var safety = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        safety.CancelAfter(TimeSpan.FromMinutes(20));
        var cancellationToken = safety.Token;
        var total = Stopwatch.StartNew();
        List<ScaleOutSample> warm;
        List<ScaleOutSample> waves;
        IReadOnlyList<ScaleOutPath> paths;
        await using (var environment = await ScaleOutEnvironment.StartAsync(cancellationToken))
        {
            var file = environment.FileProxy;
            var replicas = environment.Replicas;
            paths =
            [
                new ScaleOutPath("a", "1 proxy, token_store = file", file.ImapPort, [file], Balanced: false),
                new ScaleOutPath("b", "1 proxy, token_store = redis", replicas[0].ImapPort, [replicas[0]], Balanced: false),
                new ScaleOutPath("c", $"{replicas.Count} proxies on 1 redis, haproxy", environment.ReplicasPort, replicas, Balanced: true),
                new ScaleOutPath("d", "1 proxy, token_store = file, haproxy", environment.BalancedFilePort, [file], Balanced: true),
            ];
            Report.Line($"redis-server pid {environment.Redis.ProcessId} on 127.0.0.1:{environment.Redis.Port} (password, append-only); haproxy pid {environment.Balancer.ProcessId} (mode tcp, round robin)");
            Report.Line($"file-store proxy pid {file.ProcessId}; redis-store proxies pids {string.Join(", ", replicas.Select(r => r.ProcessId))}; upstream 127.0.0.1:{environment.Bench.Upstream.Port}; the account signed in on both stores");
            foreach (var path in paths)
            {
                Report.Line($"  {path}: 127.0.0.1:{path.Port}");
            }
            Report.Line();

            Report.Line($"1. logins per second, warm access token ({options.Concurrency} clients at once)");
            foreach (var path in paths)
            {
                // Untimed: JIT, haproxy's first connections, each replica's first read of the shared record.
                var warmUp = await LoginRatePart.RunAtAsync(path.Letter, path.Port, options.WarmUpLogins, Math.Min(options.Concurrency, options.WarmUpLogins), cancellationToken);
                if (warmUp.Failures > 0)
                {
                    throw new InvalidOperationException($"{path}: {warmUp.Failures} of {warmUp.Logins} warm-up logins failed.\n{ProxyLines(path)}");
                }
            }
            await QuietAsync(options, cancellationToken);
            warm = [];
            for (var repetition = 0; repetition < options.Repetitions; repetition++)
            {
                var row = new List<ScaleOutSample>();
                for (var i = 0; i < paths.Count; i++)
                {
                    var path = paths[(i + repetition) % paths.Count];
                    row.Add(await SampleAsync(environment, path, options.LoginsPerSample, options.Concurrency, cancellationToken));
                }
                warm.AddRange(row);
                Report.Line($"  repetition {repetition + 1}: {string.Join("  ", row.OrderBy(s => s.Path.Letter, StringComparer.Ordinal).Select(Describe))}");
            }
            Report.Line();
            Report.PartDone("warm");

            Report.Line($"2. the first wave after the access token expired: {options.WaveLogins} logins at once, each wave after every access token was expired at the identity server");
            await QuietAsync(options, cancellationToken);
            waves = [];
            ScaleOutPath[] waved = [paths[0], paths[2]];
            for (var repetition = 0; repetition < options.WaveRepetitions; repetition++)
            {
                for (var i = 0; i < waved.Length; i++)
                {
                    var path = waved[(i + repetition) % waved.Length];
                    var identity = environment.Bench.Identity;
                    identity.ExpireAllAccessTokens();
                    var (refreshes, replays) = (identity.RefreshTokenRequests, identity.ReplayedRefreshTokens);
                    var sample = await SampleAsync(environment, path, options.WaveLogins, options.WaveLogins, cancellationToken);
                    sample = sample with { Refreshes = identity.RefreshTokenRequests - refreshes, Replays = identity.ReplayedRefreshTokens - replays };
                    waves.Add(sample);
                    Report.Line($"  wave {repetition + 1}: {Describe(sample)}, {sample.Refreshes} refresh request(s), {sample.Replays} replayed");
                }
            }
            Report.Line();
            Report.PartDone("waves");

            foreach (var proxy in paths.SelectMany(path => path.Proxies).Distinct())
            {
                Report.Line($"proxy pid {proxy.ProcessId}: {proxy.OutputLineCount} lines of output (log_level = warning)");
                foreach (var line in proxy.LastLines.TakeLast(3))
                {
                    Report.Line("  | " + line);
                }
            }
        }
        Report.Line();
        Report.Line($"summary ({total.Elapsed.TotalSeconds:0} s in all; \"others\" = cores used by other processes meanwhile)");
        ScaleOutReport.Summary(paths, warm, waves, options);
        var failures = warm.Concat(waves).Sum(sample => sample.Logins.Failures);
        var wrongWaves = waves.Count(sample => sample.Refreshes != 1 || sample.Replays != 0);
        if (failures > 0 || wrongWaves > 0)
        {
            Report.Line($"FAILED: {failures} login(s) failed, {wrongWaves} wave(s) without exactly one refresh or with a replay");
            return 1;
        }
        return 0;
    }

    private static async Task<ScaleOutSample> SampleAsync(ScaleOutEnvironment environment, ScaleOutPath path, int logins, int concurrency, CancellationToken cancellationToken)
    {
        var before = ScaleOutCpu.Read(environment, path);
        var result = await LoginRatePart.RunAtAsync(path.Letter, path.Port, logins, concurrency, cancellationToken);
        return new ScaleOutSample(path, result, ScaleOutCpu.Read(environment, path).Since(before));
    }

    private static string Describe(ScaleOutSample sample) =>
        $"{sample.Path.Letter} {sample.LoginsPerSecond,5:0}/s{(sample.Logins.Failures > 0 ? $" ({sample.Logins.Failures} failed)" : "")}";

    private static async Task QuietAsync(ScaleOutOptions options, CancellationToken cancellationToken)
    {
        if (options.QuietWait > TimeSpan.Zero && await CpuMeter.WaitForQuietAsync(null, options.QuietWait, cancellationToken) >= options.QuietWait)
        {
            Report.Line($"  (other processes kept the cores busy for the {options.QuietWait.TotalSeconds:0} s allowed; going on)");
        }
    }

    private static string ProxyLines(ScaleOutPath path) =>
        string.Join('\n', path.Proxies.SelectMany(proxy => proxy.LastLines.TakeLast(5).Select(line => $"  pid {proxy.ProcessId} | {line}")));

    private static string FirstLine(string program, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, argument) { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return "unknown";
            }
            var first = process.StandardOutput.ReadLine() ?? "unknown";
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return first.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"not installed (apt-get install {program})";
        }
    }
}
