using System.Globalization;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// Debian's redis-server for one test, on a loopback port of its own, with its data in a temporary folder
/// kept in an append-only file synced at every write (as docs/scale-out.md tells operators to run it), so
/// that <see cref="StopAsync"/> then <see cref="StartAsync"/> again on the same port loses nothing. With a
/// <see cref="Password"/> (requirepass) unless made without. Stopped by PID and its folder deleted on dispose.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    /// <summary>The Debian package; .ci/install-test-tools installs it.</summary>
    public const string Package = "redis-server";

    private ServerProcess? _process;

    public RedisServer(bool withPassword = true)
    {
        Directory = Path.Combine(Path.GetTempPath(), "emailproxy-redis-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        Port = TestEnvironment.GetFreePort();
        Password = withPassword ? "redis-" + Guid.NewGuid().ToString("N") : null;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>requirepass, or null for a Redis without one.</summary>
    public string? Password { get; }

    /// <summary>The proxy's <c>redis</c> value, password included (a test may instead give it in $EMAILPROXY_REDIS_PASSWORD).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}" + (Password is null ? "" : $",password={Password}");

    /// <summary>The connection string without the password.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>What redis-server wrote since its last start.</summary>
    public ObservableLog Log => _process?.Log ?? throw new InvalidOperationException("Redis was not started.");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The running redis-server's PID (the bench reads its CPU time).</summary>
    public int ProcessId => (_process ?? throw new InvalidOperationException("Redis was not started.")).Id;

    /// <summary>Starts it (again, on the same port and data, after <see cref="StopAsync"/>); returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }
        if (_process is { } old)
        {
            await old.DisposeAsync();
        }
        List<string> arguments =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", Directory,
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "",
        ];
        if (Password is not null)
        {
            arguments.AddRange(["--requirepass", Password]);
        }
        _process = await ServerProcess.StartAsync("redis", "redis-server", arguments,
            line => line.Contains("Ready to accept connections", StringComparison.Ordinal));
    }

    /// <summary>Stops it with SIGTERM (it flushes its append-only file first).</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            await process.StopAsync();
        }
    }

    /// <summary>
    /// SIGSTOP: Redis keeps its connections but answers nothing, as a hung or partitioned Redis does (the clients' commands
    /// time out instead of being refused). <see cref="Resume"/> lets it go on.
    /// </summary>
    public void Pause() => (_process ?? throw new InvalidOperationException("Redis was not started.")).Send("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => _process?.Send("CONT");

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            // A paused Redis would not act on SIGTERM.
            if (!process.HasExited)
            {
                process.Send("CONT");
            }
            await process.DisposeAsync();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temporary folder.
        }
    }
}
