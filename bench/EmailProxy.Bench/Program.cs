using System.Diagnostics;
using EmailProxy.Bench;

// The bench: the real proxy (its own process) against a direct connection to the same fast upstream, in one run.
// See docs/performance.md for what is measured and the figures of the reference machine; --help for the options.
return await BenchCommandLine.InvokeAsync(args, RunAsync);

static async Task<int> RunAsync(BenchOptions options, CancellationToken stopping)
{
    ProxyInstance.DllOverride = options.ProxyDll;
    ProxyInstance.ExtraEnvironment = options.ProxyEnvironment;
    SessionsPart.Hold = options.SessionHold;
    if (options.Smoke)
    {
        MemoryPart.SettleMinimum = TimeSpan.FromMilliseconds(200);
        MemoryPart.SettleMaximum = TimeSpan.FromSeconds(1);
        MemoryPart.WarmUpConnects = 10;
    }
    else if (options.Short)
    {
        MemoryPart.SettleMinimum = TimeSpan.FromSeconds(1);
        MemoryPart.SettleMaximum = TimeSpan.FromSeconds(4);
        MemoryPart.WarmUpConnects = 20;
    }

    Report.Line("Email OAuth2 Proxy bench");
    Report.Line($"command:      dotnet run -c Release --project bench/EmailProxy.Bench{(options.Arguments.Count == 0 ? "" : " -- " + string.Join(' ', options.Arguments))}");
    foreach (var line in MachineInfo.Describe())
    {
        Report.Line(line);
    }
    Report.Line($"parts:        {string.Join(", ", BenchCommandLine.Parts.Where(part => !options.Skip.Contains(part)))} (of {string.Join(", ", BenchCommandLine.Parts)})");
    Report.Line();

    // A safety limit for the whole run (and Ctrl+C); every part stops by itself long before.
    using var safety = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    safety.CancelAfter(TimeSpan.FromMinutes(20));
    var cancellationToken = safety.Token;
    var total = Stopwatch.StartNew();
    ThroughputResult? throughput = null;
    LatencyResult? latency = null;
    var rates = new List<LoginRateResult>();
    var memory = new List<MemoryResult>();
    var hostile = new List<HostileResult>();
    var held = new List<SessionsResult>();
    StartupResult? startup = null;

    async Task<CpuMeter> StartPartAsync(ProxyInstance? proxy)
    {
        if (options.QuietWait > TimeSpan.Zero)
        {
            var waited = await CpuMeter.WaitForQuietAsync(proxy, options.QuietWait, cancellationToken);
            if (waited >= options.QuietWait)
            {
                Report.Line($"  (other processes kept the cores busy for the {options.QuietWait.TotalSeconds:0} s allowed; going on)");
            }
        }
        return CpuMeter.Start(proxy);
    }

    await using (var environment = await BenchEnvironment.CreateAsync(options.MessageBytes))
    {
        await using (var proxy = await environment.StartProxyAsync(cancellationToken))
        {
            await BenchEnvironment.SignInAsync(proxy, cancellationToken);
            Report.Line($"proxy pid {proxy.ProcessId} on 127.0.0.1:{proxy.ImapPort}, upstream 127.0.0.1:{environment.Upstream.Port} (TLS 1.3, ECDSA P-256), account signed in");
            Report.Line();

            if (!options.Skip.Contains("throughput"))
            {
                Report.Line("1. bulk FETCH throughput, one session each, alternating rounds");
                var meter = await StartPartAsync(proxy);
                throughput = await ThroughputPart.RunAsync(environment, proxy, options, cancellationToken);
                throughput = throughput with { Cpu = meter.Stop() };
                Report.Throughput(throughput);
                Report.Line();
                Report.PartDone("throughput");
            }

            if (!options.Skip.Contains("latency"))
            {
                Report.Line("2. login latency (warm token)");
                var meter = await StartPartAsync(proxy);
                latency = await LatencyPart.RunAsync(environment, proxy, options, cancellationToken);
                latency = latency with { Cpu = meter.Stop() };
                Report.Latency(latency);
                Report.Line();
                Report.PartDone("latency");
            }

            if (!options.Skip.Contains("rate"))
            {
                Report.Line("3. logins per second (connect, greeting, login, OK, close)");
                foreach (var concurrency in options.RateConcurrency)
                {
                    var meter = await StartPartAsync(proxy);
                    var proxied = await LoginRatePart.RunProxyAsync(proxy, options.RateLogins, concurrency, cancellationToken);
                    proxied = proxied with { Cpu = meter.Stop() };
                    Report.LoginRate(proxied);
                    meter = await StartPartAsync(proxy);
                    var direct = await LoginRatePart.RunDirectAsync(environment, options.RateLogins, concurrency, cancellationToken);
                    direct = direct with { Cpu = meter.Stop() };
                    Report.LoginRate(direct);
                    rates.Add(proxied);
                    rates.Add(direct);
                }
                Report.Line();
                Report.PartDone("rate");
            }

            Report.Line($"proxy output during parts 1-3: {proxy.OutputLineCount} lines (log_level = warning)");
            foreach (var line in proxy.LastLines.TakeLast(5))
            {
                Report.Line("  | " + line);
            }
            Report.Line();
        }

        if (!options.Skip.Contains("memory"))
        {
            var maxRelayed = MemoryPart.MaxRelayedSessions();
            Report.Line($"4. memory per session (a fresh proxy per figure; relayed sessions capped at {maxRelayed:N0} by ulimit -n {MemoryPart.OpenFileLimit()})");
            var figures = options.IdleSessionCounts.Select(n => (MemoryPart.Idle, n))
                .Concat(options.RelayedSessionCounts.Select(n => (MemoryPart.Relayed, Math.Min(n, maxRelayed))))
                .Distinct();
            foreach (var (kind, sessions) in figures)
            {
                await StartPartAsync(null);
                var result = await MemoryPart.RunAsync(environment, kind, sessions, cancellationToken);
                Report.Memory(result);
                memory.Add(result);
            }
            Report.Line();
            Report.PartDone("memory");
        }

        if (!options.Skip.Contains("sessions"))
        {
            Report.Line($"6. many sessions held by one proxy (a fresh proxy per figure; relayed ones to the real Dovecot of the tests, implicit TLS)");
            foreach (var count in options.SessionIdleCounts)
            {
                await StartPartAsync(null);
                var result = await SessionsPart.RunIdleAsync(environment, count, cancellationToken);
                Report.Sessions(result);
                held.Add(result);
            }
            foreach (var count in options.SessionRelayedCounts)
            {
                await StartPartAsync(null);
                var result = await SessionsPart.RunRelayedAsync(environment, count, options.SessionNoopSamples, cancellationToken);
                Report.Sessions(result);
                held.Add(result);
            }
            Report.Line();
            Report.PartDone("sessions");
        }

        if (!options.Skip.Contains("startup"))
        {
            Report.Line($"7. start-up: process start to the first IMAP greeting, {options.StartupRepetitions} fresh processes one after another");
            await StartPartAsync(null);
            var meter = CpuMeter.Start(null);
            startup = await StartupPart.RunAsync(environment, options.StartupRepetitions, cancellationToken);
            startup = startup with { Cpu = meter.Stop() };
            Report.Startup(startup);
            Report.Line();
            Report.PartDone("startup");
        }
    }

    if (!options.Skip.Contains("hostile"))
    {
        await using var environment = await BenchEnvironment.CreateAsync(1024);
        var signIn = await environment.StartProxyAsync(cancellationToken);
        await using (signIn)
        {
            await BenchEnvironment.SignInAsync(signIn, cancellationToken);
        }
        Report.Line($"5. hostile clients against a fresh proxy each, while a logged-in session sends NOOPs one at a time");
        await StartPartAsync(null);
        var flood = await HostilePart.RunFloodAsync(environment, options.HostileDuration, options.HostileQuietSamples, cancellationToken);
        Report.Hostile(flood);
        await StartPartAsync(null);
        var guess = await HostilePart.RunGuessAsync(environment, options.HostileDuration, options.HostileQuietSamples, manyHosts: false, cancellationToken);
        Report.Hostile(guess);
        await StartPartAsync(null);
        var many = await HostilePart.RunGuessAsync(environment, options.HostileDuration, options.HostileQuietSamples, manyHosts: true, cancellationToken);
        Report.Hostile(many);
        hostile.Add(flood);
        hostile.Add(guess);
        hostile.Add(many);
        Report.Line();
        Report.PartDone("hostile");
    }

    Report.Line($"summary ({total.Elapsed.TotalSeconds:0} s in all; \"others\" = cores used by other processes meanwhile)");
    Report.Summary(throughput, latency, rates, memory, hostile);
    Report.SessionsSummary(held, startup);
    return 0;
}
