using System.Diagnostics;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// The sessions part (issue 15, item 4): many sessions held by one proxy. <b>Idle</b>: connections greeted and not
/// logged in (the proxy's pre-login cost). <b>Relayed</b>: sessions logged in through the proxy to the real Dovecot
/// of the functional tests (implicit TLS upstream, its oauth2 passdb asking the fake identity server), left idle;
/// then NOOP round trips, one at a time, each on the next held session through the proxy, alternating with NOOPs on
/// one session straight to Dovecot over TLS. Memory as in part 4 (a fresh, warmed-up proxy per figure, read once
/// steady), with the anonymous share of /proc/PID/smaps_rollup beside VmRSS.
/// </summary>
internal static class SessionsPart
{
    public const string Idle = "idle, before login";
    public const string Relayed = "logged in, relayed to Dovecot";

    private const int Buffer = 1024;

    /// <summary>
    /// Dovecot's limits for 1,000+ sessions of one user from one address (its defaults: 10 per user and address,
    /// 100 processes per service); the login processes in Dovecot's high-performance mode (each serves many
    /// connections, and the TLS of each session after its login, instead of one process per connection).
    /// </summary>
    private const string DovecotLimits = """
        mail_max_userip_connections = 100000
        default_process_limit = 12000
        default_client_limit = 30000
        default_vsz_limit = 0
        service imap-login {
          service_count = 0
          process_min_avail = 2
        }
        """;

    /// <summary>How long to keep relayed sessions open after the readings (<c>--hold</c>), for a heap dump from outside.</summary>
    public static TimeSpan Hold { get; set; } = TimeSpan.Zero;

    public static async Task<SessionsResult> RunIdleAsync(BenchEnvironment environment, int sessions, CancellationToken cancellationToken)
    {
        await using var proxy = await environment.StartProxyAsync(cancellationToken);
        return await HoldAsync(proxy, Idle, sessions, relayed: false, direct: null, noopSamples: 0, cancellationToken);
    }

    public static async Task<SessionsResult> RunRelayedAsync(BenchEnvironment environment, int sessions, int noopSamples, CancellationToken cancellationToken)
    {
        var dovecot = new DovecotFixture { ExtraConfig = DovecotLimits };
        await using var stop = new DovecotStop(dovecot);
        await dovecot.InitializeAsync();
        dovecot.Introspection.Use(environment.Identity);
        var caFile = Path.Combine(environment.Directory, "dovecot-ca.pem");
        TestCertificates.Trusted.WriteCaPem(caFile);

        await using var proxy = await environment.StartProxyAsync(cancellationToken, (dovecot.ImapsPort, caFile));
        await using var direct = await ImapClientConnection.ConnectAsync(dovecot.ImapsPort, TestCertificates.Trusted, Buffer, cancellationToken);
        await direct.ReadGreetingAsync(cancellationToken);
        await direct.CommandOkAsync("a", "AUTHENTICATE XOAUTH2 " + environment.DirectInitialResponse(), cancellationToken);
        return await HoldAsync(proxy, Relayed, sessions, relayed: true, direct, noopSamples, cancellationToken);
    }

    private static async Task<SessionsResult> HoldAsync(ProxyInstance proxy, string kind, int sessions, bool relayed, ImapClientConnection? direct, int noopSamples, CancellationToken cancellationToken)
    {
        var meter = CpuMeter.Start(proxy);
        await MemoryPart.WarmUpAsync(proxy, cancellationToken);
        var threadsBefore = proxy.ReadThreadCount();
        await MemoryPart.SettleAsync(proxy, cancellationToken);
        var before = proxy.ReadMemory();

        var clients = new ImapClientConnection[sessions];
        var started = Stopwatch.GetTimestamp();
        try
        {
            await MemoryPart.ForEachAsync(sessions, relayed ? 16 : 64, async (i, ct) =>
            {
                var client = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, Buffer, ct);
                clients[i] = client;
                await client.ReadGreetingAsync(ct);
                if (relayed)
                {
                    await client.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", ct);
                }
            }, cancellationToken);
            var openTime = Stopwatch.GetElapsedTime(started);
            await MemoryPart.SettleAsync(proxy, cancellationToken);
            var after = proxy.ReadMemory();
            var threadsAfter = proxy.ReadThreadCount();
            // Relayed sessions only: idle ones would pass the proxy's 60-second login window.
            if (Hold > TimeSpan.Zero && relayed)
            {
                Report.Line($"  holding {sessions} sessions ({kind}) for {Hold.TotalSeconds:0} s: dotnet-gcdump collect -p {proxy.ProcessId}");
                await Task.Delay(Hold, cancellationToken);
            }

            // Round trips while all are held: each NOOP on the next held session, alternating with the direct one.
            var proxyMs = new List<double>(noopSamples);
            var directMs = new List<double>(noopSamples);
            for (var i = 0; i < noopSamples && direct is not null; i++)
            {
                var sample = Stopwatch.GetTimestamp();
                await clients[i % sessions].CommandOkAsync("p", "NOOP", cancellationToken);
                proxyMs.Add(Stopwatch.GetElapsedTime(sample).TotalMilliseconds);
                sample = Stopwatch.GetTimestamp();
                await direct.CommandOkAsync("d", "NOOP", cancellationToken);
                directMs.Add(Stopwatch.GetElapsedTime(sample).TotalMilliseconds);
            }

            // Every session must still answer (a relayed NOOP goes to Dovecot and back).
            var alive = 0;
            await MemoryPart.ForEachAsync(sessions, 64, async (i, ct) =>
            {
                try
                {
                    if ((await clients[i].CommandAsync("n", "NOOP", ct)).StartsWith("OK", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref alive);
                    }
                }
                catch (IOException)
                {
                    // Closed: counted as not answering.
                }
            }, cancellationToken);
            return new SessionsResult(kind, sessions, before, after, openTime, alive, threadsBefore, threadsAfter, proxyMs, directMs) { Cpu = meter.Stop() };
        }
        finally
        {
            await MemoryPart.ForEachAsync(sessions, 256, async (i, _) =>
            {
                if (clients[i] is { } client)
                {
                    await client.DisposeAsync();
                }
            }, CancellationToken.None);
        }
    }
}
