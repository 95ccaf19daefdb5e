using EmailProxy.FunctionalTests.ScaleOut;

namespace EmailProxy.Bench;

/// <summary>
/// What the <c>scaleout</c> mode measures, all on this machine: the bench's fake identity server and fast upstream
/// (those of the default mode's login-rate part), one proxy with <c>token_store = file</c>, Debian's redis-server on a
/// loopback port of its own (with a password, append-only as docs/scale-out.md runs it), three proxies with
/// <c>token_store = redis</c> sharing it (the same <c>secret_file</c>, each its own <c>token_dir</c> and ports), and one
/// Debian haproxy in TCP mode with two IMAP frontends: the three replicas, and the file-store proxy alone. Each process
/// is stopped by its PID on dispose, also when starting the others failed.
/// </summary>
internal sealed class ScaleOutEnvironment : IAsyncDisposable
{
    public const int ReplicaCount = 3;

    private const string ReplicasService = "replicas";
    private const string FileService = "file";

    private readonly List<ProxyInstance> _replicas = [];

    private ScaleOutEnvironment(BenchEnvironment bench, RedisServer redis)
    {
        Bench = bench;
        Redis = redis;
    }

    public BenchEnvironment Bench { get; }

    public RedisServer Redis { get; }

    /// <summary>The baseline: one proxy on token files.</summary>
    public ProxyInstance FileProxy { get; private set; } = null!;

    /// <summary>The proxies on Redis; the first is also measured alone.</summary>
    public IReadOnlyList<ProxyInstance> Replicas => _replicas;

    public HaproxyServer Balancer { get; private set; } = null!;

    /// <summary>The balancer's IMAP port in front of the three replicas.</summary>
    public int ReplicasPort => Balancer.PortOf(ReplicasService);

    /// <summary>The balancer's IMAP port in front of the file-store proxy alone.</summary>
    public int BalancedFilePort => Balancer.PortOf(FileService);

    /// <summary>Starts everything and signs the account in twice: on the file-store proxy, and through the first replica into Redis.</summary>
    public static async Task<ScaleOutEnvironment> StartAsync(CancellationToken cancellationToken)
    {
        var bench = await BenchEnvironment.CreateAsync(1024);
        // Strict rotation, as OAuth 2.1 providers do: a replayed refresh token would be counted (and revoke the family).
        bench.Identity.StrictRefreshRotation = true;
        var environment = new ScaleOutEnvironment(bench, new RedisServer());
        try
        {
            await environment.Redis.StartAsync();
            // The file-store proxy first: it creates the master key file the replicas then read.
            environment.FileProxy = await bench.StartProxyAsync(cancellationToken);
            await BenchEnvironment.SignInAsync(environment.FileProxy, cancellationToken);
            var starting = Enumerable.Range(0, ReplicaCount).Select(i => environment.StartReplicaAsync(i, cancellationToken)).ToList();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                // Those that started are stopped on dispose even if another one failed.
                environment._replicas.AddRange(starting.Where(task => task.IsCompletedSuccessfully).Select(task => task.Result));
            }
            await BenchEnvironment.SignInAsync(environment._replicas[0], cancellationToken);
            environment.Balancer = await HaproxyServer.StartAsync(new Dictionary<string, IReadOnlyList<int>>
            {
                [ReplicasService] = [.. environment._replicas.Select(replica => replica.ImapPort)],
                [FileService] = [environment.FileProxy.ImapPort],
            });
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    private async Task<ProxyInstance> StartReplicaAsync(int index, CancellationToken cancellationToken)
    {
        var imapPort = BenchEnvironment.GetFreePort();
        var httpPort = BenchEnvironment.GetFreePort();
        var directory = Path.Combine(Bench.Directory, $"replica-{index + 1}");
        Directory.CreateDirectory(directory);
        var secretLine = $"secret_file = {Path.Combine(Bench.Directory, "emailproxy.key")}";
        var text = Bench.BuildConfig(imapPort, httpPort, Bench.Upstream.Port, Bench.CaFile)
            .Replace($"token_dir = {Path.Combine(Bench.Directory, "tokens")}", $"token_dir = {Path.Combine(directory, "tokens")}", StringComparison.Ordinal)
            .Replace(secretLine, $"{secretLine}\ntoken_store = redis\nredis = {Redis.ConnectionString}", StringComparison.Ordinal);
        var path = Path.Combine(directory, "emailproxy.ini");
        await File.WriteAllTextAsync(path, text, cancellationToken);
        return await ProxyInstance.StartAsync(path, imapPort, httpPort, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Balancer is { } balancer)
            {
                await balancer.DisposeAsync();
            }
            foreach (var replica in _replicas)
            {
                await replica.DisposeAsync();
            }
            if (FileProxy is { } fileProxy)
            {
                await fileProxy.DisposeAsync();
            }
        }
        finally
        {
            await Redis.DisposeAsync();
            await Bench.DisposeAsync();
        }
    }
}
