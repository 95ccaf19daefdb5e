using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Authentication;

namespace EmailProxy.Bench;

/// <summary>
/// Part 3: logins per second with several clients at once. Each login is a whole client session up to its OK:
/// connect, greeting, LOGIN (proxy) or TLS + AUTHENTICATE XOAUTH2 (direct), then close.
/// </summary>
internal static class LoginRatePart
{
    private const int Buffer = 8 * 1024;

    public static async Task<LoginRateResult> RunProxyAsync(ProxyInstance proxy, int logins, int concurrency, CancellationToken cancellationToken)
    {
        var cpu = proxy.ReadCpuTime();
        var result = await RunAsync("proxy", logins, concurrency, async ct =>
        {
            await using var client = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, Buffer, ct);
            await client.ReadGreetingAsync(ct);
            await client.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", ct);
        }, cancellationToken);
        return result with { ProxyProcessCpu = proxy.ReadCpuTime() - cpu };
    }

    /// <summary>
    /// Logins at an IMAP port on 127.0.0.1 that leads to one or more proxies (a proxy's own, or a balancer's in front of
    /// them); the caller reads the processes' CPU.
    /// </summary>
    public static Task<LoginRateResult> RunAtAsync(string path, int port, int logins, int concurrency, CancellationToken cancellationToken) =>
        RunAsync(path, logins, concurrency, async ct =>
        {
            await using var client = await ImapClientConnection.ConnectAsync(port, null, Buffer, ct);
            await client.ReadGreetingAsync(ct);
            await client.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", ct);
        }, cancellationToken);

    public static Task<LoginRateResult> RunDirectAsync(BenchEnvironment environment, int logins, int concurrency, CancellationToken cancellationToken)
    {
        var initialResponse = environment.DirectInitialResponse();
        return RunAsync("direct", logins, concurrency, async ct =>
        {
            await using var client = await ImapClientConnection.ConnectAsync(environment.Upstream.Port, environment.Certificates, Buffer, ct);
            await client.ReadGreetingAsync(ct);
            await client.CommandOkAsync("l", "AUTHENTICATE XOAUTH2 " + initialResponse, ct);
        }, cancellationToken);
    }

    private static async Task<LoginRateResult> RunAsync(string path, int logins, int concurrency, Func<CancellationToken, Task> login, CancellationToken cancellationToken)
    {
        var latencies = new double[logins];
        var next = -1;
        var failures = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            await Task.Yield();
            int index;
            while ((index = Interlocked.Increment(ref next)) < logins)
            {
                var loginStarted = Stopwatch.GetTimestamp();
                try
                {
                    await login(cancellationToken);
                    latencies[index] = Stopwatch.GetElapsedTime(loginStarted).TotalMilliseconds;
                }
                catch (Exception e) when (e is IOException or SocketException or AuthenticationException)
                {
                    latencies[index] = double.NaN;
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var succeeded = latencies.Where(l => !double.IsNaN(l)).ToArray();
        return new LoginRateResult(path, concurrency, logins, elapsed, failures, Stats.Percentile(succeeded, 50), Stats.Percentile(succeeded, 99), TimeSpan.Zero);
    }
}
