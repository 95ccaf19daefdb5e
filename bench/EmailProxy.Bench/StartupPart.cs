using System.Diagnostics;
using System.Net.Sockets;

namespace EmailProxy.Bench;

/// <summary>
/// The start-up part (issue 15, item 5): the proxy's process is started (<c>dotnet emailproxy.dll --config FILE</c>, a
/// fresh configuration on fresh ports, the account signed in) and the bench connects to its IMAP port again and
/// again, a millisecond apart, until a greeting arrives; the time from starting the process to that greeting, and the
/// CPU time the process had used by then (which a busy machine does not stretch), for each repetition, a fresh process each.
/// </summary>
internal static class StartupPart
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static async Task<StartupResult> RunAsync(BenchEnvironment environment, int repetitions, CancellationToken cancellationToken)
    {
        var greetingMs = new List<double>(repetitions);
        var cpuMs = new List<double>(repetitions);
        for (var i = 0; i < repetitions; i++)
        {
            var (path, imapPort, httpPort) = await environment.WriteConfigAsync(null, cancellationToken);
            var started = Stopwatch.GetTimestamp();
            await using var proxy = ProxyInstance.Launch(path, imapPort, httpPort);
            greetingMs.Add((await FirstGreetingAsync(proxy, started, cancellationToken)).TotalMilliseconds);
            cpuMs.Add(proxy.ReadCpuTime().TotalMilliseconds);
        }
        return new StartupResult(ProxyInstance.DllPath, greetingMs, cpuMs);
    }

    private static async Task<TimeSpan> FirstGreetingAsync(ProxyInstance proxy, long started, CancellationToken cancellationToken)
    {
        while (Stopwatch.GetElapsedTime(started) < Limit)
        {
            try
            {
                await using var client = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, 1024, cancellationToken);
                await client.ReadGreetingAsync(cancellationToken);
                return Stopwatch.GetElapsedTime(started);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // Not listening yet.
            }
            catch (IOException)
            {
                // Accepted by the kernel but closed before a greeting (the process is still starting or stopping).
            }
            if (proxy.HasExited)
            {
                throw new InvalidOperationException($"The proxy exited before it greeted:\n{string.Join('\n', proxy.LastLines)}");
            }
            await Task.Delay(1, cancellationToken);
        }
        throw new TimeoutException($"No greeting on 127.0.0.1:{proxy.ImapPort} within {Limit.TotalSeconds:0} s of the start.");
    }
}
