using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// Part 1: bulk FETCH of one big message, repeated over one session through the proxy and one session straight to
/// the upstream (TLS), in alternating rounds so that both see the same machine.
/// </summary>
internal static class ThroughputPart
{
    private const int ReadBuffer = 256 * 1024;

    public static async Task<ThroughputResult> RunAsync(BenchEnvironment environment, ProxyInstance proxy, BenchOptions options, CancellationToken cancellationToken)
    {
        await using var direct = await ImapClientConnection.ConnectAsync(environment.Upstream.Port, environment.Certificates, ReadBuffer, cancellationToken);
        await direct.ReadGreetingAsync(cancellationToken);
        await direct.CommandOkAsync("a", "AUTHENTICATE XOAUTH2 " + environment.DirectInitialResponse(), cancellationToken);
        await direct.CommandOkAsync("s", "SELECT INBOX", cancellationToken);

        await using var proxied = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, ReadBuffer, cancellationToken);
        await proxied.ReadGreetingAsync(cancellationToken);
        await proxied.CommandOkAsync("a", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", cancellationToken);
        await proxied.CommandOkAsync("s", "SELECT INBOX", cancellationToken);

        // Warm-up: JIT, buffer pools and socket buffers on both paths.
        for (var i = 0; i < 2; i++)
        {
            await direct.FetchAsync($"wd{i}", 1, cancellationToken);
            await proxied.FetchAsync($"wp{i}", 1, cancellationToken);
        }

        long directBytes = 0, proxyBytes = 0;
        TimeSpan directTime = TimeSpan.Zero, proxyTime = TimeSpan.Zero, proxyCpu = TimeSpan.Zero, benchCpuDirect = TimeSpan.Zero, benchCpuProxy = TimeSpan.Zero;
        var ratios = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (var round = 0; round < options.ThroughputRounds; round++)
        {
            self.Refresh();
            var benchCpu = self.TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            long bytes = 0;
            for (var i = 0; i < options.FetchesPerRound; i++)
            {
                bytes += await direct.FetchAsync($"d{round}.{i}", 1, cancellationToken);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            self.Refresh();
            benchCpuDirect += self.TotalProcessorTime - benchCpu;
            directBytes += bytes;
            directTime += elapsed;
            var directRate = Stats.MegabytesPerSecond(bytes, elapsed);

            var cpu = proxy.ReadCpuTime();
            self.Refresh();
            benchCpu = self.TotalProcessorTime;
            started = Stopwatch.GetTimestamp();
            bytes = 0;
            for (var i = 0; i < options.FetchesPerRound; i++)
            {
                bytes += await proxied.FetchAsync($"p{round}.{i}", 1, cancellationToken);
            }
            elapsed = Stopwatch.GetElapsedTime(started);
            proxyCpu += proxy.ReadCpuTime() - cpu;
            self.Refresh();
            benchCpuProxy += self.TotalProcessorTime - benchCpu;
            proxyBytes += bytes;
            proxyTime += elapsed;
            ratios.Add(Stats.MegabytesPerSecond(bytes, elapsed) / directRate);
        }

        await proxied.CommandAsync("z", "LOGOUT", cancellationToken);
        await direct.CommandAsync("z", "LOGOUT", cancellationToken);
        return new ThroughputResult(options.MessageBytes, directBytes, directTime, proxyBytes, proxyTime, proxyCpu, benchCpuDirect, benchCpuProxy, ratios);
    }
}
