using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// <c>bench relay</c>: the proxy's relay against a socat relay and a direct connection, all to the real Dovecot of
/// the functional tests on implicit TLS, for plaintext and TLS client sides (issue 15, items 1 and 2; docs/performance.md).
/// </summary>
internal static class RelayMode
{
    public static async Task<int> RunAsync(RelayOptions options, CancellationToken stopping)
    {
        Report.Line("Email OAuth2 Proxy bench: relay");
        Report.Line($"command:      dotnet run -c Release --project bench/EmailProxy.Bench -- {string.Join(' ', options.Arguments)}");
        foreach (var line in MachineInfo.Describe())
        {
            Report.Line(line);
        }
        Report.Line($"socat:        {SocatVersion()}");
        Report.Line($"work:         {options.Repetitions} interleaved repetitions × {options.TransfersPerSample} transfer(s) per path and workload; rates are medians; CPU per GiB over all samples");
        Report.Line();

        using var safety = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        safety.CancelAfter(TimeSpan.FromMinutes(20));
        var cancellationToken = safety.Token;
        var total = Stopwatch.StartNew();
        var figures = new List<RelayFigure>();
        await using (var environment = await RelayEnvironment.CreateAsync(options))
        {
            Report.Line($"dovecot pid {environment.DovecotPid}: imaps {environment.Dovecot.ImapsPort}, pop3s {environment.Dovecot.PopsPort}, submissions {environment.Dovecot.SubmissionsPort} (the proxy: submission {environment.Dovecot.SubmissionPort} with STARTTLS)");
            foreach (var clientTls in options.ClientTls)
            {
                var proxy = await environment.StartProxyAsync(clientTls, cancellationToken);
                Report.Line();
                Report.Line($"{(clientTls ? "2. implicit TLS" : "1. plaintext")} client side: proxy pid {proxy.Instance.ProcessId}{(clientTls ? " (local_tls = implicit), socat OPENSSL-LISTEN" : " (local_tls = off), socat TCP-LISTEN")}");
                figures.AddRange(await RelayPart.RunAsync(environment, proxy, options, cancellationToken));
                Report.Line($"  proxy output: {proxy.Instance.OutputLineCount} lines (log_level = warning)");
                foreach (var line in proxy.Instance.LastLines.TakeLast(5))
                {
                    Report.Line("  | " + line);
                }
            }
        }
        Report.Line();
        Report.Line($"summary ({total.Elapsed.TotalSeconds:0} s in all; \"others\" = cores used by other processes meanwhile)");
        RelayReport.Summary(figures, options);
        return 0;
    }

    private static string SocatVersion()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("socat", "-V") { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return "unknown";
            }
            var version = process.StandardOutput.ReadToEnd().Split('\n').FirstOrDefault(l => l.StartsWith("socat version", StringComparison.Ordinal)) ?? "unknown";
            process.WaitForExit();
            return version.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed (apt-get install socat)";
        }
    }
}
