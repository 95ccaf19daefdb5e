using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// Part 4: the proxy's resident memory per held session. For each figure a fresh proxy is started and warmed up
/// (logins and connects, so code is compiled and pools exist), its VmRSS read once it is steady, N sessions opened
/// and held, VmRSS read again once steady; the proxy's GC cannot be forced from outside, so whatever it has
/// not collected by then counts. Idle sessions are connected and greeted, not logged in (they must be measured
/// within the proxy's 60-second login window); relayed sessions are logged in, each with its own TLS session
/// upstream.
/// </summary>
internal static class MemoryPart
{
    public const string Idle = "idle, before login";
    public const string Relayed = "logged in, relayed";

    private const int Buffer = 1024;
    /// <summary>Waited at least before a reading of VmRSS counts (<c>--short</c>: 1 s).</summary>
    public static TimeSpan SettleMinimum { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Waited at most for two readings to agree (<c>--short</c>: 4 s).</summary>
    public static TimeSpan SettleMaximum { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>Connects of the warm-up, every second one with a login (<c>--short</c>: 20).</summary>
    public static int WarmUpConnects { get; set; } = 100;

    /// <summary>
    /// How many relayed sessions fit the open-file limit: each costs this process two descriptors (the client's
    /// socket and the upstream's) and the proxy two; 2,000 are left for everything else.
    /// </summary>
    public static int MaxRelayedSessions()
    {
        var limit = OpenFileLimit();
        return limit is null ? 10_000 : Math.Max(0, (int)((limit.Value - 2000) / 2) / 500 * 500);
    }

    /// <summary>The soft limit of open files (ulimit -n), from /proc/self/limits.</summary>
    public static long? OpenFileLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.TryParse(fields[0], out var soft) ? soft : null;
            }
        }
        return null;
    }

    public static async Task<MemoryResult> RunAsync(BenchEnvironment environment, string kind, int sessions, CancellationToken cancellationToken)
    {
        await using var proxy = await environment.StartProxyAsync(cancellationToken);
        var meter = CpuMeter.Start(proxy);
        await WarmUpAsync(proxy, cancellationToken);
        var threadsBefore = proxy.ReadThreadCount();
        var before = await SettleAsync(proxy, cancellationToken);

        var relayed = kind == Relayed;
        var clients = new ImapClientConnection[sessions];
        var started = Stopwatch.GetTimestamp();
        var upstreamBefore = environment.Upstream.OpenSessions;
        try
        {
            await ForEachAsync(sessions, relayed ? 16 : 64, async (i, ct) =>
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
            var after = await SettleAsync(proxy, cancellationToken);
            var threadsAfter = proxy.ReadThreadCount();
            var upstreamSessions = environment.Upstream.OpenSessions - upstreamBefore;

            // Every session must still answer (a relayed NOOP goes to the upstream and back).
            var alive = 0;
            await ForEachAsync(sessions, 64, async (i, ct) =>
            {
                if ((await clients[i].CommandAsync("n", "NOOP", ct)).StartsWith("OK", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref alive);
                }
            }, cancellationToken);
            return new MemoryResult(kind, sessions, before, after, openTime, alive, threadsBefore, threadsAfter, upstreamSessions) { Cpu = meter.Stop() };
        }
        finally
        {
            await ForEachAsync(sessions, 256, async (i, _) =>
            {
                if (clients[i] is { } client)
                {
                    await client.DisposeAsync();
                }
            }, CancellationToken.None);
        }
    }

    public static async Task WarmUpAsync(ProxyInstance proxy, CancellationToken cancellationToken)
    {
        await ForEachAsync(WarmUpConnects, 8, async (i, ct) =>
        {
            await using var client = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, Buffer, ct);
            await client.ReadGreetingAsync(ct);
            await client.CommandOkAsync("n", "NOOP", ct);
            if (i % 2 == 0)
            {
                await client.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", ct);
                await client.CommandOkAsync("n2", "NOOP", ct);
            }
        }, cancellationToken);
    }

    /// <summary>Waits at least <see cref="SettleMinimum"/>, then until two readings half a second apart differ by under 0.5 % (at most <see cref="SettleMaximum"/>).</summary>
    public static async Task<long> SettleAsync(ProxyInstance proxy, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        await Task.Delay(SettleMinimum, cancellationToken);
        var last = proxy.ReadResidentBytes();
        while (started.Elapsed < SettleMaximum)
        {
            await Task.Delay(500, cancellationToken);
            var current = proxy.ReadResidentBytes();
            if (Math.Abs(current - last) < last / 200)
            {
                return current;
            }
            last = current;
        }
        return last;
    }

    /// <summary>Runs <paramref name="action"/> for 0..count-1 with at most <paramref name="parallel"/> at once.</summary>
    public static async Task ForEachAsync(int count, int parallel, Func<int, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count)).Select(async _ =>
        {
            await Task.Yield();
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                await action(index, cancellationToken);
            }
        }));
    }
}
