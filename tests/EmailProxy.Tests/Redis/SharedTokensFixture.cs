using System.Collections.Concurrent;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace EmailProxy.Tests.Redis;

/// <summary>
/// Replicas in one process on one real Redis (<see cref="LocalRedis"/>): each its own connection (its own instance id),
/// store and token service, all on the <see cref="OAuth2Fixture"/>'s stub token endpoint and fake clock. The endpoint
/// rotates strictly, as OAuth 2.1 providers do: a refresh token used twice is refused (<see cref="Replays"/> counts it).
/// </summary>
internal sealed class SharedTokensFixture : IAsyncDisposable
{
    private readonly List<Replica> _replicas = [];
    private readonly ConcurrentDictionary<string, bool> _usedRefreshTokens = new(StringComparer.Ordinal);
    private int _replays;

    private SharedTokensFixture(LocalRedis redis)
    {
        Redis = redis;
        Fx.Endpoint.Respond = (n, form) =>
        {
            if (form.TryGetValue("refresh_token", out var used) && !_usedRefreshTokens.TryAdd(used, true))
            {
                Interlocked.Increment(ref _replays);
                return StubTokenEndpoint.InvalidGrant();
            }
            return StubTokenEndpoint.Token($"access-{n}", $"refresh-{n}");
        };
    }

    public OAuth2Fixture Fx { get; } = new();

    public LocalRedis Redis { get; }

    /// <summary>What the replicas' token services log (all of them into one).</summary>
    public RecordingLoggerProvider Logs { get; } = new(LogLevel.Information);

    /// <summary>The change notices the hearing replicas heard (their Debug lines), so that a test can wait for one.</summary>
    public RecordingLoggerProvider Heard { get; } = new(LogLevel.Debug);

    /// <summary>Refresh tokens sent a second time (each refused).</summary>
    public int Replays => Volatile.Read(ref _replays);

    public static async Task<SharedTokensFixture> StartAsync() => new(await LocalRedis.StartNewAsync());

    /// <summary>A new replica; with <paramref name="hearChanges"/> it also hears the others' change notices.</summary>
    public async Task<Replica> NewReplicaAsync(bool hearChanges = false)
    {
        var connection = new RedisConnection(Redis.ConnectionString, null, NullLogger<RedisConnection>.Instance);
        var store = new RedisTokenStore(connection, OAuth2Fixture.Key, Fx.Time, NullLogger<RedisTokenStore>.Instance) { RefreshLease = TimeSpan.FromSeconds(1) };
        var tokens = new TokenService(Fx.Client, store, Fx.Time, Logs.CreateLogger<TokenService>());
        RedisTokenChanges? changes = null;
        if (hearChanges)
        {
            changes = new RedisTokenChanges(connection, tokens, TimeProvider.System, Heard.CreateLogger<RedisTokenChanges>());
            await changes.StartAsync(CancellationToken.None);
            await changes.ExecuteTask!.Guarded();
        }
        var replica = new Replica(connection, store, tokens, changes);
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>Signs the account in through <paramref name="replica"/>: saved in Redis, its access token valid for an hour.</summary>
    public Task SignInAsync(Replica replica, string? passwordHash = null, string accessToken = "access-0", string refreshToken = "refresh-0") =>
        replica.Tokens.AcceptSignInAsync(Fx.Account,
            new TokenEndpointResult { AccessToken = accessToken, RefreshToken = refreshToken, ExpiresAt = Fx.Time.GetUtcNow().AddHours(1) },
            CancellationToken.None, "someone@example.com", passwordHash);

    /// <summary>Returns once the replica's connection to Redis is up again (after <see cref="LocalRedis.StartAsync"/>).</summary>
    public static async Task WaitConnectedAsync(Replica replica)
    {
        var multiplexer = await replica.Connection.GetAsync(CancellationToken.None);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnRestored(object? sender, ConnectionFailedEventArgs e)
        {
            if (multiplexer.IsConnected)
            {
                connected.TrySetResult();
            }
        }
        multiplexer.ConnectionRestored += OnRestored;
        try
        {
            if (multiplexer.IsConnected)
            {
                connected.TrySetResult();
            }
            await connected.Task.Guarded();
        }
        finally
        {
            multiplexer.ConnectionRestored -= OnRestored;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            if (replica.Changes is { } changes)
            {
                await changes.StopAsync(CancellationToken.None);
                changes.Dispose();
            }
            await replica.Connection.DisposeAsync();
        }
        await Redis.DisposeAsync();
        Fx.Dispose();
    }

    internal sealed record Replica(RedisConnection Connection, RedisTokenStore Store, TokenService Tokens, RedisTokenChanges? Changes);
}
