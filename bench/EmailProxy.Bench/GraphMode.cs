using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// <c>bench graph</c>: 100 KB messages through the proxy with <c>smtp_via = graph</c> (to the fake of Microsoft Graph)
/// against the proxy with <c>smtp_via = smtp</c> (relayed to Dovecot's submission) and a direct session to that
/// submission (issue 19; docs/performance.md). Per path: the latency of one transaction (MAIL to the 250 after
/// DATA), one session sending at a time, repetitions interleaved; then messages per second with several sessions at once.
/// </summary>
internal static class GraphMode
{
    /// <summary>Transactions each session sends before anything is timed (JIT, the first Graph token, connections).</summary>
    private const int WarmUp = 3;

    public static async Task<int> RunAsync(GraphBenchOptions options, CancellationToken stopping)
    {
        Report.Line("Email OAuth2 Proxy bench: graph");
        Report.Line($"command:      dotnet run -c Release --project bench/EmailProxy.Bench -- {string.Join(' ', options.Arguments)}");
        foreach (var line in MachineInfo.Describe())
        {
            Report.Line(line);
        }
        Report.Line($"work:         {options.MessageBytes / 1000} KB messages; latency {options.Repetitions} interleaved repetitions × {options.LatencyBatch} per path, one at a time; rate {options.Concurrency} sessions × {options.MessagesPerSession} per path");
        Report.Line();

        using var safety = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        safety.CancelAfter(TimeSpan.FromMinutes(20));
        var cancellationToken = safety.Token;
        var total = Stopwatch.StartNew();
        await using var environment = await GraphBenchEnvironment.CreateAsync(options, cancellationToken);
        Report.Line($"dovecot submission {environment.Dovecot.SubmissionPort} (submissions {environment.Dovecot.SubmissionsPort}), fake Graph {environment.Graph.Url}; proxies pid {environment.SmtpProxy!.ProcessId} (smtp) and {environment.GraphProxy!.ProcessId} (graph), both signed in");
        var paths = environment.Paths;

        Report.Line();
        Report.Line("1. latency of one transaction (MAIL FROM to the 250 after DATA), one at a time");
        var latencies = paths.ToDictionary(p => p, _ => new List<double>());
        var sessions = new Dictionary<GraphBenchPath, RelayClient>();
        try
        {
            foreach (var path in paths)
            {
                sessions[path] = await path.OpenAsync(cancellationToken);
                for (var i = 0; i < WarmUp; i++)
                {
                    await environment.SendAsync(sessions[path], cancellationToken);
                }
            }
            for (var repetition = 0; repetition < options.Repetitions; repetition++)
            {
                // A rotating order, so that no path always runs after the same one.
                foreach (var path in paths.Skip(repetition % paths.Count).Concat(paths.Take(repetition % paths.Count)))
                {
                    for (var i = 0; i < options.LatencyBatch; i++)
                    {
                        var started = Stopwatch.GetTimestamp();
                        await environment.SendAsync(sessions[path], cancellationToken);
                        latencies[path].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
            }
        }
        finally
        {
            foreach (var session in sessions.Values)
            {
                await session.DisposeAsync();
            }
        }
        var direct = latencies[paths[0]];
        foreach (var path in paths)
        {
            var ms = latencies[path];
            var added = path == paths[0] ? "" : $"   added vs direct: p50 {Stats.Percentile(ms, 50) - Stats.Percentile(direct, 50),7:0.00} ms, p99 {Stats.Percentile(ms, 99) - Stats.Percentile(direct, 99),7:0.00} ms";
            Report.Line($"  {path.Name,-48} p50 {Stats.Percentile(ms, 50),7:0.00} ms   p99 {Stats.Percentile(ms, 99),7:0.00} ms   ({ms.Count} samples){added}");
        }
        var viaSmtp = latencies[paths[1]];
        var viaGraph = latencies[paths[2]];
        Report.Line($"  graph - smtp through the proxy: p50 {Stats.Percentile(viaGraph, 50) - Stats.Percentile(viaSmtp, 50):0.00} ms, p99 {Stats.Percentile(viaGraph, 99) - Stats.Percentile(viaSmtp, 99):0.00} ms");
        Report.PartDone("graph-latency");

        Report.Line();
        Report.Line($"2. messages per second, {options.Concurrency} sessions at once per path, {options.MessagesPerSession} messages each");
        var rates = new Dictionary<GraphBenchPath, double>();
        foreach (var path in paths)
        {
            var open = await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(_ => path.OpenAsync(cancellationToken)));
            try
            {
                await Task.WhenAll(open.Select(s => environment.SendAsync(s, cancellationToken)));
                var proxy = path == paths[1] ? environment.SmtpProxy : path == paths[2] ? environment.GraphProxy : null;
                var cpuBefore = proxy?.ReadCpuTime() ?? TimeSpan.Zero;
                var started = Stopwatch.GetTimestamp();
                await Task.WhenAll(open.Select(async s =>
                {
                    for (var i = 0; i < options.MessagesPerSession; i++)
                    {
                        await environment.SendAsync(s, cancellationToken);
                    }
                }));
                var elapsed = Stopwatch.GetElapsedTime(started);
                var count = options.Concurrency * options.MessagesPerSession;
                rates[path] = count / elapsed.TotalSeconds;
                var cpu = proxy is null ? "" : $", proxy CPU {(proxy.ReadCpuTime() - cpuBefore).TotalMilliseconds / count:0.00} ms per message";
                Report.Line($"  {path.Name,-48} {count} in {elapsed.TotalSeconds,6:0.00} s = {rates[path],7:0.0} messages/s{cpu}");
            }
            finally
            {
                foreach (var session in open)
                {
                    await session.DisposeAsync();
                }
            }
        }
        Report.Line($"  ratio graph/smtp through the proxy: {rates[paths[2]] / rates[paths[1]]:0.00}; smtp/direct: {rates[paths[1]] / rates[paths[0]]:0.00}");
        Report.PartDone("graph-rate");

        Report.Line();
        Report.Line($"fake Graph kept {environment.Graph.Messages.Count} messages, refused {environment.Graph.TokenRefusals} tokens; {total.Elapsed.TotalSeconds:0} s in all");
        foreach (var proxy in new[] { environment.SmtpProxy, environment.GraphProxy })
        {
            Report.Line($"proxy {proxy.ProcessId} output: {proxy.OutputLineCount} lines (log_level = warning)");
            foreach (var line in proxy.LastLines.TakeLast(3))
            {
                Report.Line("  | " + line);
            }
        }
        return 0;
    }
}
