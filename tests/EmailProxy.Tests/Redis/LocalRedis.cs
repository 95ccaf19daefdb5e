using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Redis;

/// <summary>
/// A redis-server of the test's own (Debian's package, as the functional tests use) on a free loopback port, its data in an
/// append-only file written at every command: <see cref="KillAsync"/> then <see cref="StartAsync"/> is Redis gone and back
/// with nothing lost. Starts in milliseconds, so a unit test of the shared store can use a real one.
/// </summary>
internal sealed class LocalRedis : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private Process? _process;

    private LocalRedis() => Port = FreePort();

    public int Port { get; }

    /// <summary>For the proxy's <see cref="EmailProxy.Redis.RedisConnection"/>: short timeouts, so that a Redis gone is told within a second.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000";

    public static async Task<LocalRedis> StartNewAsync()
    {
        var redis = new LocalRedis();
        await redis.StartAsync();
        return redis;
    }

    /// <summary>Starts it (again, on the same port and data); returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory.Path,
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--logfile", ""])
        {
            start.ArgumentList.Add(argument);
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("redis-server ended before it was ready"));
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        _process = process;
        await ready.Task.Guarded();
    }

    /// <summary>SIGKILL: Redis is gone at once (its clients' connections drop); its data stays in the append-only file.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync().Guarded();
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _directory.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
