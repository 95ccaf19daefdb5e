using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// The relay mode for one client side (plaintext or implicit TLS): each workload in turn, in interleaved repetitions
/// over the three paths (direct, socat, proxy; the order rotates each repetition), every path logged in beforehand so
/// that only the transfers are timed.
/// </summary>
internal static class RelayPart
{
    private static readonly RelayPath[] Paths = [RelayPath.Direct, RelayPath.Socat, RelayPath.Proxy];

    public static async Task<IReadOnlyList<RelayFigure>> RunAsync(RelayEnvironment environment, RelayProxy proxy, RelayOptions options, CancellationToken cancellationToken)
    {
        var sessions = new List<RelayPathSessions>();
        try
        {
            foreach (var path in Paths)
            {
                sessions.Add(await RelayPathSessions.OpenAsync(path, environment, proxy, cancellationToken));
            }
            var figures = new List<RelayFigure>();
            foreach (var workload in Enum.GetValues<RelayWorkload>())
            {
                foreach (var session in sessions)
                {
                    await PrepareAsync(session, workload, cancellationToken);
                }
                // Warm-up: one transfer per path, untimed.
                foreach (var session in sessions)
                {
                    await TransferAsync(session, workload, environment, 0, cancellationToken);
                }
                if (options.QuietWait > TimeSpan.Zero && await CpuMeter.WaitForQuietAsync(null, options.QuietWait, cancellationToken) >= options.QuietWait)
                {
                    Report.Line($"  (other processes kept the cores busy for the {options.QuietWait.TotalSeconds:0} s allowed; going on)");
                }
                var meter = RelayCpuMeter.Start(environment, proxy.Instance, sessions);
                var samples = new List<RelaySample>();
                for (var repetition = 0; repetition < options.Repetitions; repetition++)
                {
                    for (var i = 0; i < sessions.Count; i++)
                    {
                        var session = sessions[(i + repetition) % sessions.Count];
                        samples.Add(await SampleAsync(session, workload, environment, options.TransfersPerSample, cancellationToken));
                    }
                }
                var figure = new RelayFigure(workload, proxy.ClientTls, samples, meter.Stop());
                RelayReport.Figure(figure);
                figures.Add(figure);
            }
            return figures;
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }

    private static async Task<RelaySample> SampleAsync(RelayPathSessions session, RelayWorkload workload, RelayEnvironment environment, int transfers, CancellationToken cancellationToken)
    {
        var cpu = session.RelayCpu();
        var started = Stopwatch.GetTimestamp();
        long bytes = 0;
        for (var i = 0; i < transfers; i++)
        {
            bytes += await TransferAsync(session, workload, environment, i + 1, cancellationToken);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new RelaySample(session.Path, bytes, elapsed, session.RelayCpu() - cpu);
    }

    private static async Task PrepareAsync(RelayPathSessions session, RelayWorkload workload, CancellationToken cancellationToken)
    {
        switch (workload)
        {
            case RelayWorkload.ImapFetchBig:
                await session.Imap.ImapOkAsync("s", "EXAMINE INBOX", cancellationToken);
                break;
            case RelayWorkload.ImapFetchMany:
                await session.Imap.ImapOkAsync("s", $"EXAMINE {RelayEnvironment.SmallFolder}", cancellationToken);
                break;
        }
    }

    private static async Task<long> TransferAsync(RelayPathSessions session, RelayWorkload workload, RelayEnvironment environment, int number, CancellationToken cancellationToken) => workload switch
    {
        RelayWorkload.ImapFetchBig => await session.Imap.ImapFetchAsync($"f{number}", "1", cancellationToken),
        RelayWorkload.ImapFetchMany => await session.Imap.ImapFetchAsync($"m{number}", "1:*", cancellationToken),
        RelayWorkload.Pop3Retr => await session.Pop.Pop3RetrAsync(1, cancellationToken),
        _ => await session.Smtp.SmtpSendAsync(BenchEnvironment.Account, "customer@example.org", environment.BigMessage, cancellationToken),
    };
}
