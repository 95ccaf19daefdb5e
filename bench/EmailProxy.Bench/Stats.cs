namespace EmailProxy.Bench;

/// <summary>Nearest-rank percentiles and unit conversions for the report.</summary>
internal static class Stats
{
    /// <summary>The nearest-rank <paramref name="percent"/> percentile of <paramref name="values"/> (which need not be sorted).</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percent)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Megabytes (10^6 bytes) per second.</summary>
    public static double MegabytesPerSecond(long bytes, TimeSpan elapsed) => bytes / 1e6 / elapsed.TotalSeconds;

    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);
}
