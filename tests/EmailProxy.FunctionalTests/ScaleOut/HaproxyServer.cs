using System.Globalization;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// Debian's haproxy for one test, in TCP mode: one frontend per named service on a loopback port of its own, each
/// spreading connections round-robin over its backends (the replicas' ports for that service). Run in the
/// foreground (<c>-db</c>), stopped by PID on dispose.
/// </summary>
internal sealed class HaproxyServer : IAsyncDisposable
{
    /// <summary>The Debian package; .ci/install-test-tools installs it.</summary>
    public const string Package = "haproxy";

    private readonly string _directory;
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);
    private ServerProcess? _process;

    private HaproxyServer(string directory) => _directory = directory;

    /// <summary>The frontend port of one service, e.g. "imap".</summary>
    public int PortOf(string service) => _ports[service];

    /// <summary>What haproxy wrote.</summary>
    public ObservableLog Log => _process!.Log;

    /// <summary>haproxy's PID (the bench reads its CPU time).</summary>
    public int ProcessId => _process!.Id;

    /// <param name="services">Per service name ("imap", "smtp", "http"…) the backend ports, all on 127.0.0.1.</param>
    /// <param name="frontendPorts">A service's frontend port when it must be known before (the public redirect URI); a free one otherwise.</param>
    public static async Task<HaproxyServer> StartAsync(IReadOnlyDictionary<string, IReadOnlyList<int>> services, IReadOnlyDictionary<string, int>? frontendPorts = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "emailproxy-haproxy-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var server = new HaproxyServer(directory);
        try
        {
            var config = new StringBuilder();
            config.AppendLine("global\n    maxconn 4096\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 120s\n    timeout server 120s\n    balance roundrobin\n");
            foreach (var (name, backends) in services)
            {
                var port = frontendPorts?.GetValueOrDefault(name) is { } given and > 0 ? given : TestEnvironment.GetFreePort();
                server._ports[name] = port;
                config.AppendLine(CultureInfo.InvariantCulture, $"frontend {name}\n    bind 127.0.0.1:{port}\n    default_backend {name}_replicas\n");
                config.AppendLine(CultureInfo.InvariantCulture, $"backend {name}_replicas");
                for (var i = 0; i < backends.Count; i++)
                {
                    config.AppendLine(CultureInfo.InvariantCulture, $"    server r{i} 127.0.0.1:{backends[i]}");
                }
                config.AppendLine();
            }
            var path = Path.Combine(directory, "haproxy.cfg");
            await File.WriteAllTextAsync(path, config.ToString());
            // -db: foreground, no daemon. haproxy says nothing when it is ready: its frontends accepting is the sign.
            server._process = await ServerProcess.StartAsync("haproxy", "haproxy", ["-db", "-f", path], ready: null);
            foreach (var port in server._ports.Values)
            {
                await WaitForListenerAsync(port, server._process);
            }
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task WaitForListenerAsync(int port, ServerProcess process)
    {
        using var timeout = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"haproxy exited:\n{process.Log.Describe()}");
            }
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temporary folder.
        }
    }
}
