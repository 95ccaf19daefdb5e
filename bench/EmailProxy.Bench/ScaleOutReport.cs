using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>The <c>scaleout</c> mode's summary: two tables (Markdown, as docs/performance.md shows them), every rate also as a ratio to path a of the same run.</summary>
internal static class ScaleOutReport
{
    public static void Summary(IReadOnlyList<ScaleOutPath> paths, IReadOnlyList<ScaleOutSample> warm, IReadOnlyList<ScaleOutSample> waves, ScaleOutOptions options)
    {
        Report.Line($"machine: {Environment.ProcessorCount} cores, shared by the bench's clients, the proxies, redis-server and haproxy; "
            + "rates are medians of the samples (min–max beside); \"ratio to a\" is the median over a's, and in brackets the range of the ratios within each repetition; "
            + "CPU per login: of the path's proxies, of redis-server, of haproxy, and of the bench process (its clients, the fake upstream's TLS and the identity server); "
            + "\"others\": cores used by processes the bench did not start");
        Report.Line();
        Report.Line($"warm access token: {options.Repetitions} repetitions × {options.LoginsPerSample} logins, {options.Concurrency} clients at once");
        Report.Line("| path | logins/s | min–max | ratio to a | proxies' CPU per login | redis CPU per login | haproxy CPU per login | bench CPU per login | failed | others |");
        Report.Line("|---|---|---|---|---|---|---|---|---|---|");
        var warmRepetitions = warm.Chunk(paths.Count).ToList();
        foreach (var path in paths)
        {
            Row(path, warm, warmRepetitions, extra: null);
        }
        Report.Line();
        Report.Line($"first wave after the access token expired: {options.WaveRepetitions} wave(s) per path of {options.WaveLogins} logins at once");
        Report.Line("| path | logins/s | min–max | ratio to a | proxies' CPU per login | redis CPU per login | haproxy CPU per login | bench CPU per login | failed | others | refresh requests per wave | replayed |");
        Report.Line("|---|---|---|---|---|---|---|---|---|---|---|---|");
        var waved = paths.Where(path => waves.Any(sample => sample.Path == path)).ToList();
        var waveRepetitions = waves.Chunk(Math.Max(1, waved.Count)).ToList();
        foreach (var path in waved)
        {
            var mine = waves.Where(sample => sample.Path == path).ToList();
            Row(path, waves, waveRepetitions, $" {string.Join(", ", mine.Select(sample => sample.Refreshes))} | {mine.Sum(sample => sample.Replays)} |");
        }
    }

    private static void Row(ScaleOutPath path, IReadOnlyList<ScaleOutSample> all, IReadOnlyList<ScaleOutSample[]> repetitions, string? extra)
    {
        var baseline = all.FirstOrDefault(sample => sample.Path.Letter == "a")?.Path ?? path;
        var mine = all.Where(sample => sample.Path == path).ToList();
        var rates = mine.Select(sample => sample.LoginsPerSecond).ToList();
        var median = Stats.Median(rates);
        var ratio = median / Stats.Median(all.Where(sample => sample.Path == baseline).Select(sample => sample.LoginsPerSecond).ToList());
        var ratios = repetitions
            .Select(repetition => (Mine: repetition.FirstOrDefault(sample => sample.Path == path), Base: repetition.FirstOrDefault(sample => sample.Path == baseline)))
            .Where(pair => pair.Mine is not null && pair.Base is not null)
            .Select(pair => pair.Mine!.LoginsPerSecond / pair.Base!.LoginsPerSecond)
            .ToList();
        var cpu = mine.Aggregate(default(ScaleOutCpu), (sum, sample) => sum.Plus(sample.Cpu));
        var logins = Math.Max(1, mine.Sum(sample => sample.Succeeded));
        var seconds = mine.Sum(sample => sample.Logins.Elapsed.TotalSeconds);
        var spread = ratios.Count > 1 && path != baseline ? string.Create(CultureInfo.InvariantCulture, $" ({ratios.Min():0.00}–{ratios.Max():0.00})") : "";
        Report.Line(string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {median:0} | {rates.Min():0}–{rates.Max():0} | {ratio:0.00}{spread} | {PerLogin(cpu.Proxies, logins)} | {PerLogin(cpu.Redis, logins)} | {PerLogin(cpu.Haproxy, logins)} | {PerLogin(cpu.Bench, logins)} | {mine.Sum(sample => sample.Logins.Failures)} | {cpu.Others.TotalSeconds / Math.Max(seconds, 1e-9):0.00} |{extra}"));
    }

    private static string PerLogin(TimeSpan cpu, int logins) => string.Create(CultureInfo.InvariantCulture, $"{cpu.TotalMilliseconds / logins:0.00} ms");
}
