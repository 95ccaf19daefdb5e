using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// Part 2: login latency, one login at a time, proxy and direct alternating. Through the proxy: connect and read the
/// greeting untimed, then LOGIN→tagged OK timed (the proxy connects upstream, does TLS and XOAUTH2 inside that).
/// Direct: the same upstream work timed from the TCP connect to AUTHENTICATE's OK.
/// </summary>
internal static class LatencyPart
{
    private const int Buffer = 8 * 1024;

    public static async Task<LatencyResult> RunAsync(BenchEnvironment environment, ProxyInstance proxy, BenchOptions options, CancellationToken cancellationToken)
    {
        var initialResponse = environment.DirectInitialResponse();
        var proxyMs = new List<double>(options.LatencySamples);
        var directMs = new List<double>(options.LatencySamples);
        var authenticateMs = new List<double>(options.LatencySamples);
        for (var i = 0; i < options.LatencyWarmup + options.LatencySamples; i++)
        {
            var measured = i >= options.LatencyWarmup;

            await using (var client = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, Buffer, cancellationToken))
            {
                await client.ReadGreetingAsync(cancellationToken);
                var started = Stopwatch.GetTimestamp();
                await client.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", cancellationToken);
                if (measured)
                {
                    proxyMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }

            var connectStarted = Stopwatch.GetTimestamp();
            await using (var client = await ImapClientConnection.ConnectAsync(environment.Upstream.Port, environment.Certificates, Buffer, cancellationToken))
            {
                await client.ReadGreetingAsync(cancellationToken);
                var authenticateStarted = Stopwatch.GetTimestamp();
                await client.CommandOkAsync("l", "AUTHENTICATE XOAUTH2 " + initialResponse, cancellationToken);
                if (measured)
                {
                    directMs.Add(Stopwatch.GetElapsedTime(connectStarted).TotalMilliseconds);
                    authenticateMs.Add(Stopwatch.GetElapsedTime(authenticateStarted).TotalMilliseconds);
                }
            }
        }
        return new LatencyResult(proxyMs, directMs, authenticateMs);
    }
}
