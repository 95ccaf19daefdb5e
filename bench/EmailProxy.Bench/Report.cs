using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>Prints each part's figures as they come and the summary against the aims at the end.</summary>
internal static class Report
{
    public const double RatioAim = 0.95;
    public const double AddedLatencyAimMs = 2.0;
    public const double LoginRateAim = 1000;
    public const double BytesPerSessionAim = 64 * 1024;
    public const double IdleBytesAim = 4 * 1024;
    public const double RelayedBytesAim = 32 * 1024;
    public const double AddedNoopAimMicroseconds = 50;
    public const double NoopStallAimMs = 5;
    public const double StartupAimMs = 300;

    public static void Line(string text = "") => Console.WriteLine(text);

    /// <summary>A part ran to its end (the functional test of <c>--short</c> checks one such line per part).</summary>
    public static void PartDone(string part) => Line($"part {part} done");

    public static void Throughput(ThroughputResult r)
    {
        Line($"  message {r.MessageBytes / 1024.0 / 1024.0:0} MiB, {r.RoundRatios.Count} rounds; MB = 10^6 bytes");
        Line($"  direct (TLS to the upstream):   {r.DirectBytes / 1e6,8:0} MB in {r.DirectTime.TotalSeconds,6:0.00} s = {r.DirectMegabytesPerSecond,7:0} MB/s   (bench CPU {r.BenchCpuDirect.TotalSeconds:0.00} s)");
        Line($"  proxy  (plaintext to the proxy): {r.ProxyBytes / 1e6,8:0} MB in {r.ProxyTime.TotalSeconds,6:0.00} s = {r.ProxyMegabytesPerSecond,7:0} MB/s   (bench CPU {r.BenchCpuProxy.TotalSeconds:0.00} s, proxy CPU {r.ProxyProcessCpu.TotalSeconds:0.00} s = {r.ProxyProcessCpu.TotalSeconds / (r.ProxyBytes / 1e9):0.00} s/GB)");
        Line($"  ratio proxy/direct: {r.Ratio:0.000}; per round: {string.Join(" ", r.RoundRatios.Select(x => x.ToString("0.00", CultureInfo.InvariantCulture)))} (median {Stats.Median(r.RoundRatios):0.00})");
        Line($"  {r.Cpu}");
    }

    public static void Latency(LatencyResult r)
    {
        Line($"  {r.ProxyMs.Count} samples each, one at a time, alternating");
        Line($"  proxy  LOGIN -> OK:                               p50 {r.ProxyP50,6:0.000} ms   p99 {r.ProxyP99,6:0.000} ms");
        Line($"  direct connect + TLS + greeting + XOAUTH2 -> OK:  p50 {r.DirectP50,6:0.000} ms   p99 {r.DirectP99,6:0.000} ms");
        Line($"    of which AUTHENTICATE XOAUTH2 -> OK alone:      p50 {Stats.Percentile(r.DirectAuthenticateOnlyMs, 50),6:0.000} ms   p99 {Stats.Percentile(r.DirectAuthenticateOnlyMs, 99),6:0.000} ms");
        Line($"  added by the proxy (p50 proxy - p50 direct): {r.AddedP50:0.000} ms; p99: {r.ProxyP99 - r.DirectP99:0.000} ms");
        Line($"  {r.Cpu}");
    }

    public static void LoginRate(LoginRateResult r)
    {
        Line($"  {r.Path,-6} {r.Concurrency,3} clients: {r.Logins} logins in {r.Elapsed.TotalSeconds,6:0.00} s = {r.LoginsPerSecond,6:0} logins/s; connect->OK p50 {r.P50Ms,6:0.00} ms p99 {r.P99Ms,6:0.00} ms; failures {r.Failures}");
        if (r.Path == "proxy")
        {
            var cpuPerLogin = r.ProxyProcessCpu.TotalMilliseconds / Math.Max(1, r.Logins - r.Failures);
            Line($"         proxy CPU {cpuPerLogin:0.00} ms per login: {1000 / cpuPerLogin:0} logins/s per core it has to itself");
        }
        Line($"         {r.Cpu}");
    }

    public static void Memory(MemoryResult r)
    {
        Line($"  {r.Sessions,6} {r.Kind}: VmRSS {Mib(r.ResidentBefore)} -> {Mib(r.ResidentAfter)} = {r.BytesPerSession / 1024,6:0.0} KiB/session; opened in {r.OpenTime.TotalSeconds:0.0} s; answering NOOP {r.Alive}/{r.Sessions}; threads {r.ThreadsBefore} -> {r.ThreadsAfter}{(r.Kind == MemoryPart.Relayed ? $"; upstream TLS sessions {r.UpstreamSessions}" : "")}");
        Line($"         {r.Cpu}");
    }

    public static void Hostile(HostileResult r)
    {
        var work = r.Kind == "flood" ? $"{r.Work / 1e6:0} MB sent" : $"{r.Work} wrong passwords answered ({r.Work / r.Duration.TotalSeconds:0.0}/s)";
        Line($"  {r.Kind}: {r.Clients} clients for {r.Duration.TotalSeconds:0} s: {r.Connections} connections, {r.ClosedByProxy} closed by the proxy, {work}");
        Line($"         VmRSS {Mib(r.ResidentBefore)} before, {Mib(r.ResidentPeak)} at the peak, {Mib(r.ResidentAfter)} after; the logged-in probe {(r.ProbeAlive ? "still answers" : "**no longer answers**")}");
        Line($"         probe NOOP round trip: quiet p50 {r.QuietP50:0.000} ms p99 {r.QuietP99:0.000} ms ({r.QuietMs.Count}); under attack p50 {r.AttackP50:0.000} ms p99 {r.AttackP99:0.000} ms ({r.UnderAttackMs.Count})");
    }

    public static void Summary(ThroughputResult? throughput, LatencyResult? latency, IReadOnlyList<LoginRateResult> rates, IReadOnlyList<MemoryResult> memory, IReadOnlyList<HostileResult> hostile)
    {
        Line("| measure | proxy | direct | proxy vs direct | aim | met | others |");
        Line("|---|---|---|---|---|---|---|");
        if (throughput is { } t)
        {
            Line($"| bulk FETCH throughput ({t.MessageBytes / 1024 / 1024} MiB message) | {t.ProxyMegabytesPerSecond:0} MB/s | {t.DirectMegabytesPerSecond:0} MB/s | ratio {t.Ratio:0.000} | ≥ {RatioAim:0.00} | {Met(t.Ratio >= RatioAim)} | {Others(t.Cpu)} |");
        }
        if (latency is { } l)
        {
            Line($"| login latency p50 | {l.ProxyP50:0.000} ms | {l.DirectP50:0.000} ms | {l.AddedP50:+0.000;-0.000} ms | ≤ +{AddedLatencyAimMs:0} ms | {Met(l.AddedP50 <= AddedLatencyAimMs)} | {Others(l.Cpu)} |");
            Line($"| login latency p99 | {l.ProxyP99:0.000} ms | {l.DirectP99:0.000} ms | {l.ProxyP99 - l.DirectP99:+0.000;-0.000} ms | — | — | {Others(l.Cpu)} |");
        }
        foreach (var proxy in rates.Where(r => r.Path == "proxy"))
        {
            var direct = rates.FirstOrDefault(r => r.Path == "direct" && r.Concurrency == proxy.Concurrency);
            var directText = direct is null ? "—" : $"{direct.LoginsPerSecond:0}/s";
            var relative = direct is null ? "—" : $"{proxy.LoginsPerSecond / direct.LoginsPerSecond:0.00}×";
            Line($"| logins per second, {proxy.Concurrency} clients, {proxy.Logins} logins | {proxy.LoginsPerSecond:0}/s | {directText} | {relative} | ≥ {LoginRateAim:0}/s | {Met(proxy.LoginsPerSecond >= LoginRateAim && proxy.Failures == 0)} | {Others(proxy.Cpu)} |");
        }
        foreach (var m in memory)
        {
            Line($"| memory per session, {m.Sessions:N0} {m.Kind} | {m.BytesPerSession / 1024:0.0} KiB | — | VmRSS {Mib(m.ResidentBefore)} → {Mib(m.ResidentAfter)} | ≤ 64 KiB | {Met(m.BytesPerSession <= BytesPerSessionAim && m.Alive == m.Sessions)} | {Others(m.Cpu)} |");
        }
        foreach (var h in hostile)
        {
            var rise = h.ResidentPeak - h.ResidentBefore;
            Line($"| {h.Kind}: {h.Clients} clients, probe NOOP p99 | {h.AttackP99:0.000} ms | quiet {h.QuietP99:0.000} ms | {h.AttackP99 / h.QuietP99:0.0}× | — | — | — |");
            if (h.Kind == "flood")
            {
                Line($"| flood: {h.Clients} clients, VmRSS peak | {Mib(h.ResidentPeak)} | before {Mib(h.ResidentBefore)} | +{Mib(rise)} | — | — | — |");
            }
        }
    }

    public static void Sessions(SessionsResult r)
    {
        Line($"  {r.Sessions,6} {r.Kind}: VmRSS {Mib(r.Before.Rss)} -> {Mib(r.After.Rss)} = {r.RssPerSession / 1024,6:0.0} KiB/session (anonymous {Mib(r.Before.Anonymous)} -> {Mib(r.After.Anonymous)} = {r.AnonymousPerSession / 1024:0.0} KiB); opened in {r.OpenTime.TotalSeconds:0.0} s; answering NOOP {r.Alive}/{r.Sessions}; threads {r.ThreadsBefore} -> {r.ThreadsAfter}");
        if (r.ProxyNoopMs.Count > 0)
        {
            Line($"         NOOP round trip with them held, {r.ProxyNoopMs.Count} each, alternating: proxy p50 {Stats.Median(r.ProxyNoopMs) * 1000:0} us p99 {Stats.Percentile(r.ProxyNoopMs, 99) * 1000:0} us max {r.ProxyNoopMs.Max():0.00} ms; direct p50 {Stats.Median(r.DirectNoopMs) * 1000:0} us p99 {Stats.Percentile(r.DirectNoopMs, 99) * 1000:0} us max {r.DirectNoopMs.Max():0.00} ms; added p50 {r.AddedNoopP50Microseconds:0} us");
        }
        Line($"         {r.Cpu}");
    }

    public static void Startup(StartupResult r)
    {
        Line($"  {r.Build}");
        Line($"  process start -> first greeting: {string.Join(", ", r.GreetingMs.Select(ms => ms.ToString("0", CultureInfo.InvariantCulture)))} ms; median {r.MedianMs:0} ms");
        Line($"  CPU time of the process by then: {string.Join(", ", r.CpuMs.Select(ms => ms.ToString("0", CultureInfo.InvariantCulture)))} ms; median {Stats.Median(r.CpuMs):0} ms");
        Line($"  {r.Cpu}");
    }

    public static void SessionsSummary(IReadOnlyList<SessionsResult> sessions, StartupResult? startup)
    {
        foreach (var s in sessions)
        {
            var aim = s.Kind == SessionsPart.Idle ? IdleBytesAim : RelayedBytesAim;
            Line($"| sessions: memory per session, {s.Sessions:N0} {s.Kind} | {s.RssPerSession / 1024:0.0} KiB | — | VmRSS {Mib(s.Before.Rss)} → {Mib(s.After.Rss)} | ≤ {aim / 1024:0} KiB | {Met(s.RssPerSession <= aim && s.Alive == s.Sessions)} | {Others(s.Cpu)} |");
            if (s.ProxyNoopMs.Count > 0)
            {
                Line($"| sessions: NOOP p50 with {s.Sessions:N0} held | {Stats.Median(s.ProxyNoopMs) * 1000:0} us | {Stats.Median(s.DirectNoopMs) * 1000:0} us | {s.AddedNoopP50Microseconds:+0;-0} us | ≤ +{AddedNoopAimMicroseconds:0} us | {Met(s.AddedNoopP50Microseconds <= AddedNoopAimMicroseconds)} | {Others(s.Cpu)} |");
                Line($"| sessions: NOOP p99 / max with {s.Sessions:N0} held | {Stats.Percentile(s.ProxyNoopMs, 99):0.000} / {s.ProxyNoopMs.Max():0.000} ms | {Stats.Percentile(s.DirectNoopMs, 99):0.000} / {s.DirectNoopMs.Max():0.000} ms | — | no stall > {NoopStallAimMs:0} ms | {Met(s.ProxyNoopMs.Max() <= NoopStallAimMs)} | {Others(s.Cpu)} |");
            }
        }
        if (startup is { } st)
        {
            Line($"| start-up: process start → first greeting, median of {st.GreetingMs.Count} | {st.MedianMs:0} ms | — | CPU {Stats.Median(st.CpuMs):0} ms | ≤ {StartupAimMs:0} ms | {Met(st.MedianMs <= StartupAimMs)} | {Others(st.Cpu)} |");
        }
    }

    private static string Others(CpuUse? cpu) => cpu is null ? "—" : cpu.OtherCores.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Met(bool met) => met ? "met" : "**missed**";

    private static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:0.0} MiB";
}
