using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>Prints the relay mode's figures as they come and its summary table against the aims of issue 15, items 1 and 2.</summary>
internal static class RelayReport
{
    public static string Name(RelayWorkload workload, RelayOptions options) => workload switch
    {
        RelayWorkload.ImapFetchBig => $"IMAP FETCH 1 BODY[], {Mib(options.BigMessageBytes)}",
        RelayWorkload.ImapFetchMany => $"IMAP FETCH 1:* BODY[], {options.SmallMessages} × {options.SmallMessageBytes / 1000} KB",
        RelayWorkload.Pop3Retr => $"POP3 RETR, {Mib(options.BigMessageBytes)}",
        _ => $"SMTP DATA, {Mib(options.BigMessageBytes)}",
    };

    public static void Figure(RelayFigure f)
    {
        foreach (var path in Enum.GetValues<RelayPath>())
        {
            var rates = f.Samples.Where(s => s.Path == path).Select(s => s.MegabytesPerSecond.ToString("0", CultureInfo.InvariantCulture));
            var cpu = path == RelayPath.Direct ? "" : $"; CPU {f.CpuPerGib(path):0.00} s/GiB";
            Report.Line($"  {f.Workload,-13} {path,-6} median {f.Rate(path),6:0} MB/s{cpu}   samples: {string.Join(' ', rates)}");
        }
        Report.Line($"  {f.Workload,-13} proxy/socat: rate {f.RateRatio:0.00}, CPU per GiB {f.CpuRatio:0.00}; {f.Cpu}");
    }

    public static void Summary(IReadOnlyList<RelayFigure> figures, RelayOptions options)
    {
        Report.Line("| client side | workload | direct MB/s | socat MB/s | proxy MB/s | proxy/socat rate | socat CPU s/GiB | proxy CPU s/GiB | proxy/socat CPU | met | others |");
        Report.Line("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var f in figures)
        {
            Report.Line($"| {(f.ClientTls ? "TLS" : "plaintext")} | {Name(f.Workload, options)} | {f.Rate(RelayPath.Direct):0} | {f.Rate(RelayPath.Socat):0} | {f.Rate(RelayPath.Proxy):0} | {f.RateRatio:0.00} (≥ {RelayFigure.RateAim:0.00}) | {f.CpuPerGib(RelayPath.Socat):0.00} | {f.CpuPerGib(RelayPath.Proxy):0.00} | {f.CpuRatio:0.00} (≤ {RelayFigure.CpuAim:0.0}) | {(f.Met ? "met" : "**missed**")} | {f.Cpu.OtherCores:0.00} |");
        }
    }

    private static string Mib(int bytes) => $"{bytes / 1024.0 / 1024.0:0} MiB";
}
