using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EmailProxy.Bench;

/// <summary>
/// Part 5: the proxy under hostile clients, each figure with a fresh proxy. A logged-in session (the
/// "probe") sends NOOPs one at a time, first with nobody else about, then while hostile clients run
/// for a bounded time:
/// <list type="bullet">
/// <item><b>flood</b>: <see cref="FloodClients"/> clients that never log in and send, at a steady
/// pace (<see cref="FloodPause"/>), what grows a careless parser's memory (<c>{0+}</c> continuation
/// lines, <c>(</c> runs, lines without an end), reconnecting when the proxy closes them. The
/// proxy's VmRSS is sampled; its peak above the settled start is the figure.</item>
/// <item><b>guess</b>: <see cref="Guessers"/> clients that try wrong passwords on an account with a
/// <c>password_hash</c> as fast as they are answered, reconnecting when closed.</item>
/// <item><b>guess, many hosts</b>: the same, but every attempt comes from a fresh loopback address
/// (127.x.y.z) and tries a fresh login name, as a guesser with many hosts would: no per-address or
/// per-name delay holds it back, so the key derivations run as fast as the proxy lets them.</item>
/// </list>
/// The probe's NOOP round trip is the figure for "other sessions are not stalled": p50 and p99
/// quiet and under attack, in the same run.
/// </summary>
internal static class HostilePart
{
    public const int FloodClients = 100;
    public const int Guessers = 4;

    private const int Buffer = 8 * 1024;

    /// <summary>
    /// Each flooding client sends 4 KiB, then pauses this long: about 400 KB/s each, 40 MB/s from all
    /// of them — a steady flood that leaves the bench (which plays the probe and the upstream too)
    /// enough of the machine that the probe measures the proxy, not the bench.
    /// </summary>
    private static readonly TimeSpan FloodPause = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(200);

    /// <summary>A proxy that grows past this during a flood is the figure already: the flood stops there, to spare the machine.</summary>
    public const long ResidentGuard = 4L * 1024 * 1024 * 1024;

    public static async Task<HostileResult> RunFloodAsync(BenchEnvironment environment, TimeSpan duration, int probeSamples, CancellationToken cancellationToken)
    {
        await using var proxy = await environment.StartProxyAsync(cancellationToken);
        await using var probe = await LogInProbeAsync(proxy, cancellationToken);
        var quiet = await ProbeAsync(probe, probeSamples, null, cancellationToken);
        var before = await MemoryPart.SettleAsync(proxy, cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var counters = new Counters();
        var peak = before;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, proxy.ReadResidentBytes());
                if (peak > ResidentGuard)
                {
                    await stop.CancelAsync();
                }
                await Task.Delay(SampleEvery, CancellationToken.None);
            }
        }, CancellationToken.None);
        var flooders = Enumerable.Range(0, FloodClients).Select(i => FloodAsync(proxy.ImapPort, i % 3, counters, stop.Token)).ToArray();
        var underAttack = await ProbeAsync(probe, int.MaxValue, stop.Token, cancellationToken);
        await Task.WhenAll(flooders);
        await sampler;
        var after = proxy.ReadResidentBytes();
        var alive = (await probe.CommandAsync("z", "NOOP", cancellationToken)).StartsWith("OK", StringComparison.Ordinal);
        return new HostileResult("flood", FloodClients, duration, quiet, underAttack, before, peak, after, counters.Connections, counters.ClosedByProxy, counters.Bytes, alive);
    }

    public static async Task<HostileResult> RunGuessAsync(BenchEnvironment environment, TimeSpan duration, int probeSamples, bool manyHosts, CancellationToken cancellationToken)
    {
        await using var proxy = await environment.StartProxyAsync(cancellationToken);
        await using var probe = await LogInProbeAsync(proxy, cancellationToken);
        var quiet = await ProbeAsync(probe, probeSamples, null, cancellationToken);
        var before = proxy.ReadResidentBytes();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var counters = new Counters();
        var guessers = Enumerable.Range(0, Guessers).Select(i => GuessAsync(proxy.ImapPort, i, manyHosts, counters, stop.Token)).ToArray();
        var underAttack = await ProbeAsync(probe, int.MaxValue, stop.Token, cancellationToken);
        await Task.WhenAll(guessers);
        var after = proxy.ReadResidentBytes();
        var alive = (await probe.CommandAsync("z", "NOOP", cancellationToken)).StartsWith("OK", StringComparison.Ordinal);
        return new HostileResult(manyHosts ? "guess, many hosts" : "guess", Guessers, duration, quiet, underAttack, before, after, after, counters.Connections, counters.ClosedByProxy, counters.Answers, alive);
    }

    private static async Task<ImapClientConnection> LogInProbeAsync(ProxyInstance proxy, CancellationToken cancellationToken)
    {
        var probe = await ImapClientConnection.ConnectAsync(proxy.ImapPort, null, Buffer, cancellationToken);
        await probe.ReadGreetingAsync(cancellationToken);
        await probe.CommandOkAsync("l", $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}", cancellationToken);
        for (var i = 0; i < 50; i++)
        {
            await probe.CommandOkAsync("w", "NOOP", cancellationToken);
        }
        return probe;
    }

    /// <summary>NOOP round trips, one at a time, until <paramref name="count"/> or <paramref name="until"/> ends.</summary>
    private static async Task<List<double>> ProbeAsync(ImapClientConnection probe, int count, CancellationToken? until, CancellationToken cancellationToken)
    {
        var samples = new List<double>();
        for (var i = 0; i < count && until is not { IsCancellationRequested: true }; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await probe.CommandOkAsync("n", "NOOP", cancellationToken);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (until is not null)
            {
                // About 100 round trips a second: enough samples, and the probe itself no load.
                await Task.Delay(10, cancellationToken);
            }
        }
        return samples;
    }

    /// <summary>One flooding client: connects, then sends its kind of flood until the proxy closes it, then again, until <paramref name="stop"/>.</summary>
    private static async Task FloodAsync(int port, int kind, Counters counters, CancellationToken stop)
    {
        var opening = kind switch
        {
            0 => "a1 LOGIN {0+}\r\n",
            1 => "a1 LOGIN ",
            _ => "a1 LOGIN x",
        };
        var chunk = Encoding.ASCII.GetBytes(kind switch
        {
            0 => string.Concat(Enumerable.Repeat(" {0+}\r\n", 512)),
            1 => new string('(', 4096),
            _ => new string('x', 4096),
        });
        while (!stop.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), stop);
                Interlocked.Increment(ref counters.Connections);
                // Whatever the proxy says (greeting, BAD, BYE) is read and dropped in the background.
                var drain = DrainAsync(socket);
                await socket.SendAsync(Encoding.ASCII.GetBytes(opening), SocketFlags.None, stop);
                while (!stop.IsCancellationRequested && !drain.IsCompleted)
                {
                    var sent = await socket.SendAsync(chunk, SocketFlags.None, stop);
                    Interlocked.Add(ref counters.Bytes, sent);
                    await Task.Delay(FloodPause, stop);
                }
                if (drain.IsCompleted)
                {
                    Interlocked.Increment(ref counters.ClosedByProxy);
                }
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref counters.ClosedByProxy);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One guesser: LOGIN with a wrong password on the guarded account, again and again, reconnecting when closed.</summary>
    private static async Task GuessAsync(int port, int guesser, bool manyHosts, Counters counters, CancellationToken stop)
    {
        var attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                // Many hosts: one attempt per connection, each from 127.<guesser+1>.<attempt> and for a name never tried.
                var from = manyHosts ? new IPAddress([127, (byte)(guesser + 1), (byte)(attempt >> 8), (byte)(attempt & 0xff)]) : null;
                await using var client = await ImapClientConnection.ConnectAsync(port, null, Buffer, stop, from);
                Interlocked.Increment(ref counters.Connections);
                await client.ReadGreetingAsync(stop);
                while (!stop.IsCancellationRequested)
                {
                    var name = manyHosts ? $"guess-{guesser}-{attempt}@example.com" : BenchEnvironment.GuardedAccount;
                    await client.CommandAsync("g", $"LOGIN {name} wrong-{guesser}-{attempt++}", stop);
                    Interlocked.Increment(ref counters.Answers);
                    if (manyHosts)
                    {
                        break;
                    }
                }
            }
            catch (IOException)
            {
                Interlocked.Increment(ref counters.ClosedByProxy);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref counters.ClosedByProxy);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset by the proxy: closed as well.
        }
        catch (ObjectDisposedException)
        {
            // Closed by this side when the run ended.
        }
    }

    private sealed class Counters
    {
        public long Connections;
        public long ClosedByProxy;
        public long Bytes;
        public long Answers;
    }
}
