using System.Globalization;
using System.Security.Cryptography;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// Several proxies sharing one token store on Redis behind HAProxy in TCP mode, as docs/scale-out.md deploys them,
/// on one machine: each replica has its own folder (token_dir for its control token, its own config) and its own
/// loopback ports; every replica is given the same master key ($EMAILPROXY_SECRET), the same Redis (password in
/// $EMAILPROXY_REDIS_PASSWORD) and the same public redirect URI (the balancer's HTTP frontend on
/// <see cref="TestEnvironment.RedirectUri"/>'s port), with <c>web_listen</c> on its own port. The environment's
/// identity server and upstream servers serve them all. Everything is stopped on dispose.
/// </summary>
internal sealed class ReplicaSet : IAsyncDisposable
{
    private readonly List<Replica> _replicas = [];
    private IReadOnlyDictionary<string, string?> _extraEnvironment = new Dictionary<string, string?>();

    private ReplicaSet(TestEnvironment environment, RedisServer redis)
    {
        Environment = environment;
        Redis = redis;
        MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    }

    public TestEnvironment Environment { get; }

    public RedisServer Redis { get; }

    /// <summary>The master key every replica is given (base64 of 32 bytes, as $EMAILPROXY_SECRET takes it).</summary>
    public string MasterKey { get; }

    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>HAProxy: services "imap", "smtp", "pop" and "http" spread over the replicas.</summary>
    public HaproxyServer Balancer { get; private set; } = null!;

    /// <summary>The balancer's IMAP port: where a client connects.</summary>
    public int ImapPort => Balancer.PortOf("imap");

    public int SmtpPort => Balancer.PortOf("smtp");

    public int PopPort => Balancer.PortOf("pop");

    /// <summary>The variables every replica (and a CLI command run against the shared store) is started with.</summary>
    public IReadOnlyDictionary<string, string?> ProcessEnvironment => new Dictionary<string, string?>(_extraEnvironment)
    {
        ["EMAILPROXY_SECRET"] = MasterKey,
        ["EMAILPROXY_REDIS_PASSWORD"] = Redis.Password,
    };

    /// <summary>Starts Redis if needed, <paramref name="count"/> replicas (each waited for) and the balancer in front of them.</summary>
    /// <param name="append">Text appended to each replica's configuration (more sections).</param>
    /// <param name="transform">Applied to each replica's whole configuration text last.</param>
    /// <param name="processEnvironment">More variables for every replica (e.g. a short refresh-lock lease).</param>
    public static async Task<ReplicaSet> StartAsync(TestEnvironment environment, RedisServer redis, int count = 3, string? append = null, Func<string, string>? transform = null,
        IReadOnlyDictionary<string, string?>? processEnvironment = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(redis);
        var set = new ReplicaSet(environment, redis);
        if (processEnvironment is not null)
        {
            set._extraEnvironment = processEnvironment;
        }
        try
        {
            await redis.StartAsync();
            for (var i = 0; i < count; i++)
            {
                set._replicas.Add(set.Create(i, append, transform));
            }
            await Task.WhenAll(set._replicas.Select(replica => replica.Process.StartAsync()));
            set.Balancer = await HaproxyServer.StartAsync(
                new Dictionary<string, IReadOnlyList<int>>
                {
                    ["imap"] = [.. set._replicas.Select(r => r.ImapPort)],
                    ["smtp"] = [.. set._replicas.Select(r => r.SmtpPort)],
                    ["pop"] = [.. set._replicas.Select(r => r.PopPort)],
                    ["http"] = [.. set._replicas.Select(r => r.HttpPort)],
                },
                new Dictionary<string, int> { ["http"] = environment.HttpPort });
            return set;
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
    }

    /// <summary>The configuration text of one replica: the environment's, with its own ports and folder, on Redis.</summary>
    public string ConfigFor(Replica replica, string? append = null, Func<string, string>? transform = null) =>
        ConfigText(replica.Directory, replica.ImapPort, replica.SmtpPort, replica.PopPort, replica.HttpPort, append, transform);

    private Replica Create(int index, string? append, Func<string, string>? transform)
    {
        var name = ((char)('a' + index)).ToString();
        var directory = Path.Combine(Environment.Directory, "replica-" + name);
        Directory.CreateDirectory(directory);
        var (imap, smtp, pop, http) = (TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort());
        var configPath = Path.Combine(directory, "emailproxy.ini");
        File.WriteAllText(configPath, ConfigText(directory, imap, smtp, pop, http, append, transform));
        var process = new ProxyProcess(configPath, ProcessEnvironment, null, directory);
        return new Replica(name, directory, configPath, imap, smtp, pop, http, process);
    }

    private string ConfigText(string directory, int imap, int smtp, int pop, int http, string? append, Func<string, string>? transform)
    {
        var environment = Environment;
        var text = environment.BuildConfig()
            .Replace($"imap_listen = 127.0.0.1:{environment.ImapPort}", $"imap_listen = 127.0.0.1:{imap}", StringComparison.Ordinal)
            .Replace($"smtp_listen = 127.0.0.1:{environment.SmtpPort}", $"smtp_listen = 127.0.0.1:{smtp}", StringComparison.Ordinal)
            .Replace($"pop_listen = 127.0.0.1:{environment.PopPort}", $"pop_listen = 127.0.0.1:{pop}", StringComparison.Ordinal)
            .Replace($"token_dir = {environment.TokenDirectory}", $"token_dir = {Path.Combine(directory, "tokens")}", StringComparison.Ordinal)
            .Replace($"secret_file = {environment.SecretFile}", string.Create(CultureInfo.InvariantCulture,
                $"secret_file = {Path.Combine(directory, "emailproxy.key")}\nweb_listen = 127.0.0.1:{http}\ntoken_store = redis\nredis = {Redis.Address}"), StringComparison.Ordinal)
            + (append ?? "");
        return transform is null ? text : transform(text);
    }

    public async ValueTask DisposeAsync()
    {
        if (Balancer is { } balancer)
        {
            await balancer.DisposeAsync();
        }
        foreach (var replica in _replicas)
        {
            await replica.Process.DisposeAsync();
        }
    }
}
