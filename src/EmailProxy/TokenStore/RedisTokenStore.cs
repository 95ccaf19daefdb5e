using System.Security.Cryptography;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.TokenStore;

/// <summary>
/// Keeps each account's tokens in Redis (<c>token_store = redis</c>), shared by every replica: one hash per account,
/// <c>emailproxy:tokens:{folded name}</c> (<see cref="TokenFileName.Fold"/>), whose field <c>record</c> holds the
/// same JSON as a token file (readable metadata beside the secrets sealed by <see cref="TokenCipher"/> under the
/// master key every replica is given) and whose field <c>version</c> counts the writes. Each write is one
/// server-side script, so a record is replaced whole or not at all. A removal takes the <c>record</c> field only and counts
/// as a write: the version is never reset, so a compare-and-set begun before a <c>tokens clear</c> and a new sign-in never
/// matches the new record. A Redis that cannot be reached is a <see cref="TokenStoreUnavailableException"/>.
/// </summary>
internal sealed partial class RedisTokenStore : ITokenStore
{
    /// <summary>The prefix of every account's hash.</summary>
    public const string TokensKeyPrefix = RedisConnection.KeyPrefix + "tokens:";

    private const string RecordField = "record";
    private const string VersionField = "version";

    /// <summary>
    /// KEYS[1] the account's hash; ARGV[1] the record; ARGV[2] the version expected there ("" for any, "none" for no record
    /// whatever the version). Returns the new version, or -1 when the version there is not the expected one (nothing written).
    /// </summary>
    private const string SaveScript = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
        if ARGV[2] == 'none' then
          if redis.call('HEXISTS', KEYS[1], 'record') == 1 then
            return -1
          end
        elseif ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then
          return -1
        end
        redis.call('HSET', KEYS[1], 'record', ARGV[1], 'version', current + 1)
        return current + 1
        """;

    /// <summary>KEYS[1] the account's hash. Removes its record and counts the removal as a write (the version stays). Returns 1 when there was one.</summary>
    private const string DeleteScript = """
        if redis.call('HDEL', KEYS[1], 'record') == 1 then
          redis.call('HINCRBY', KEYS[1], 'version', 1)
          return 1
        end
        return 0
        """;

    private readonly RedisConnection _redis;
    private readonly TokenCipher _cipher;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private int _watchingReconnects;

    public RedisTokenStore(RedisConnection redis, MasterKey key, TimeProvider time, ILogger<RedisTokenStore> log)
    {
        _redis = redis;
        _cipher = new TokenCipher(key);
        _time = time;
        _log = log;
    }

    /// <summary>The account's hash: its name folded as token files fold it, so two accounts never share one.</summary>
    public static RedisKey KeyFor(string accountName) => TokensKeyPrefix + TokenFileName.Fold(accountName);

    /// <summary>Every replica reads and writes it.</summary>
    public bool IsShared => true;

    /// <inheritdoc/>
    public string LocationOf(string accountName) => $"Redis key {KeyFor(accountName)} at {_redis.Description}";

    /// <summary>
    /// How long the refresh lock of an account lasts without being extended: its holder's library extends it every third of it
    /// while the holder lives, so only a replica that died holding it keeps the others waiting, at most this long. 30 s by default.
    /// </summary>
    public TimeSpan RefreshLease { get; init; } = DefaultRefreshLease;

    public static readonly TimeSpan DefaultRefreshLease = TimeSpan.FromSeconds(30);

    /// <summary>Reads an account's record; null when there is none or it cannot be used (logged).</summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task<StoredTokens?> LoadAsync(AccountOptions account, CancellationToken cancellationToken) =>
        (await LoadVersionedAsync(account, cancellationToken)).Tokens;

    /// <summary>
    /// Takes the account's refresh lock among the replicas (<c>emailproxy:lock:refresh:{folded name}</c>, DistributedLock.Redis:
    /// a lease of <see cref="RefreshLease"/>, extended by the library while it is held), waiting for it at most <paramref name="wait"/>.
    /// </summary>
    /// <returns>The lock (disposing it lets go), or null when another replica held it all that time.</returns>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task<IAsyncDisposable?> TryLockRefreshAsync(string accountName, TimeSpan wait, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var refreshLock = new Medallion.Threading.Redis.RedisDistributedLock(RefreshLockKeyFor(accountName), database, options => options
            .Expiry(RefreshLease)
            .BusyWaitSleepTime(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100)));
        try
        {
            return await refreshLock.TryAcquireAsync(wait, cancellationToken);
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>The key of an account's refresh lock.</summary>
    public static RedisKey RefreshLockKeyFor(string accountName) => RedisConnection.KeyPrefix + "lock:refresh:" + TokenFileName.Fold(accountName);

    /// <summary>
    /// Reads an account's record and its version (0 when there is none), for a compare-and-set (<see cref="SaveIfVersionAsync"/>);
    /// the tokens are null when there are none or they cannot be used (logged).
    /// </summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task<(StoredTokens? Tokens, long Version)> LoadVersionedAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var (record, version) = await ReadAsync(account.Name, cancellationToken);
        return (record is null ? null : Open(account, record), version);
    }

    /// <summary>
    /// Keeps the account's tokens only if the record's version is still <paramref name="expectedVersion"/> (a compare-and-set):
    /// a replica never overwrites what another wrote since it read (a sign-in, <c>tokens clear</c>, a newer refresh).
    /// The other replicas are told <paramref name="change"/>.
    /// </summary>
    /// <returns>The record's new version, or null when they were not kept (it was changed since).</returns>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public Task<long?> SaveIfVersionAsync(AccountOptions account, StoredTokens tokens, long? expectedVersion, TokenChange change, CancellationToken cancellationToken) =>
        WriteAsync(account, tokens, expectedVersion, change, cancellationToken);

    /// <summary>Whether a connection to Redis is up now: tokens kept in memory only are written back as soon as it is.</summary>
    public bool IsConnected => _redis.IsConnected;

    /// <summary>
    /// Raised when the connection to Redis is back after it was lost (once this store has used it), on a thread of the Redis
    /// client's: handlers are quick.
    /// </summary>
    public event Action? Reconnected;

    private StoredTokens? Open(AccountOptions account, string record)
    {
        try
        {
            return TokenFile.Read(System.Text.Encoding.UTF8.GetBytes(record), account.Name, _cipher);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or CryptographicException or FormatException or ArgumentException)
        {
            LogDamaged(_log, account.Name, KeyFor(account.Name).ToString(), e is CryptographicException ? "it does not decrypt with this master key" : e.Message);
            return null;
        }
    }

    /// <summary>Keeps the account's tokens whatever was kept (a new sign-in); the other replicas are told of a new sign-in.</summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task SaveAsync(AccountOptions account, StoredTokens tokens, CancellationToken cancellationToken) =>
        await WriteAsync(account, tokens, expectedVersion: null, TokenChange.SignedIn, cancellationToken);

    /// <summary>Removes the account's record, whatever it holds.</summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public Task<bool> DeleteAsync(string accountName, CancellationToken cancellationToken) =>
        DeleteRecordAsync(_redis, accountName, _log, cancellationToken);

    /// <summary>
    /// Removes one account's record and tells the running replicas, which drop it from memory: also without a proxy
    /// (<c>tokens clear</c> on a host where none runs).
    /// </summary>
    /// <returns>Whether there was one.</returns>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public static async Task<bool> DeleteRecordAsync(RedisConnection redis, string accountName, ILogger log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var database = (await MultiplexerAsync(redis, cancellationToken)).GetDatabase();
        try
        {
            // The record only: its version goes on counting (see the class remarks).
            var removed = (long)await database.ScriptEvaluateAsync(DeleteScript, [KeyFor(accountName)]).WaitAsync(cancellationToken) == 1;
            await RedisTokenChanges.PublishAsync(redis, accountName, TokenChange.Cleared, log, cancellationToken);
            return removed;
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(redis, e);
        }
    }

    /// <summary>
    /// The account names the records say they belong to (their readable <c>account</c>), nothing decrypted: at start, the
    /// accounts made from templates are made again from them (as <see cref="TokenFileStore.StoredAccountNames"/> does for files).
    /// </summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task<IReadOnlyList<string>> StoredAccountNamesAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        foreach (var (key, record) in await ReadAllAsync(cancellationToken))
        {
            try
            {
                var file = JsonSerializer.Deserialize(record, TokenJsonContext.Default.TokenFile);
                // Only a record kept under its own account's key: a copied one is not an account.
                if (file?.Account is { Length: > 0 } account && KeyFor(account) == key)
                {
                    names.Add(account);
                }
            }
            catch (JsonException)
            {
                // Left out: it is logged when its account loads it.
            }
        }
        return names;
    }

    /// <summary>Every record kept (key and JSON), for listing and <c>tokens migrate</c>.</summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public Task<IReadOnlyList<(RedisKey Key, string Record)>> ReadAllAsync(CancellationToken cancellationToken) => ReadAllAsync(_redis, cancellationToken);

    /// <inheritdoc cref="ReadAllAsync(CancellationToken)"/>
    public static async Task<IReadOnlyList<(RedisKey Key, string Record)>> ReadAllAsync(RedisConnection redis, CancellationToken cancellationToken)
    {
        var multiplexer = await MultiplexerAsync(redis, cancellationToken);
        var database = multiplexer.GetDatabase();
        var records = new List<(RedisKey, string)>();
        try
        {
            foreach (var server in multiplexer.GetServers().Where(server => !server.IsReplica))
            {
                await foreach (var key in server.KeysAsync(pattern: TokensKeyPrefix + "*").WithCancellation(cancellationToken))
                {
                    if (await database.HashGetAsync(key, RecordField).WaitAsync(cancellationToken) is { HasValue: true } record)
                    {
                        records.Add((key, record.ToString()));
                    }
                }
            }
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(redis, e);
        }
        return records;
    }

    /// <summary>
    /// Writes one record as it is, unless the account has one already (<c>tokens migrate</c>: the sealed secrets are not
    /// opened, and nothing kept is overwritten); its version counts on from the account's last (1 for a new account).
    /// </summary>
    /// <returns>Whether it was written (false: the account had a record).</returns>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public static async Task<bool> TryAddRecordAsync(RedisConnection redis, string accountName, string record, CancellationToken cancellationToken)
    {
        var database = (await MultiplexerAsync(redis, cancellationToken)).GetDatabase();
        try
        {
            var result = await database.ScriptEvaluateAsync(SaveScript, [KeyFor(accountName)], [record, "none"]).WaitAsync(cancellationToken);
            return (long)result > 0;
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(redis, e);
        }
    }

    /// <summary>The JSON of one account's record, or null when there is none.</summary>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached.</exception>
    public async Task<string?> ReadRecordAsync(string accountName, CancellationToken cancellationToken) =>
        (await ReadAsync(accountName, cancellationToken)).Record;

    private async Task<(string? Record, long Version)> ReadAsync(string accountName, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        try
        {
            var values = await database.HashGetAsync(KeyFor(accountName), [RecordField, VersionField]).WaitAsync(cancellationToken);
            var record = values[0].HasValue ? values[0].ToString() : null;
            var version = values[1].HasValue && values[1].TryParse(out long parsed) ? parsed : 0;
            return (record, version);
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    private async Task<long?> WriteAsync(AccountOptions account, StoredTokens tokens, long? expectedVersion, TokenChange change, CancellationToken cancellationToken)
    {
        var record = JsonSerializer.Serialize(TokenFile.Of(account, tokens, _time.GetUtcNow(), _cipher), TokenJsonContext.Default.TokenFile);
        var database = await DatabaseAsync(cancellationToken);
        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(SaveScript, [KeyFor(account.Name)],
                [record, expectedVersion is { } expected ? expected : ""]).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw Unavailable(e);
        }
        var version = (long)result;
        if (version < 0)
        {
            LogChangedElsewhere(_log, account.Name);
            return null;
        }
        await RedisTokenChanges.PublishAsync(_redis, account.Name, change, _log, cancellationToken);
        return version;
    }

    /// <summary>
    /// The connection's multiplexer; a connection that cannot be had (a command connection's failed connect, the proxy
    /// stopping) is a <see cref="TokenStoreUnavailableException"/> like a failed command, never another exception.
    /// </summary>
    private static async Task<IConnectionMultiplexer> MultiplexerAsync(RedisConnection redis, CancellationToken cancellationToken)
    {
        try
        {
            return await redis.GetAsync(cancellationToken);
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            throw new TokenStoreUnavailableException($"Redis at {redis.Description} cannot be reached ({e.GetType().Name})", e);
        }
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await MultiplexerAsync(_redis, cancellationToken);
        if (Interlocked.Exchange(ref _watchingReconnects, 1) == 0)
        {
            multiplexer.ConnectionRestored += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Interactive)
                {
                    Reconnected?.Invoke();
                }
            };
        }
        return multiplexer.GetDatabase();
    }

    /// <summary>What a caller is told when Redis failed a command: the endpoints, never the password.</summary>
    private TokenStoreUnavailableException Unavailable(Exception e) => Unavailable(_redis, e);

    private static TokenStoreUnavailableException Unavailable(RedisConnection redis, Exception e) =>
        new($"Redis at {redis.Description} is unavailable ({(e is RedisServerException ? e.Message : e.GetType().Name)})", e);

    [LoggerMessage(EventId = 7101, EventName = "RedisTokenRecordDamaged", Level = LogLevel.Warning,
        Message = "The tokens of account {Account} in Redis ({Key}) cannot be used: {Reason}; the account needs a new sign-in")]
    private static partial void LogDamaged(ILogger logger, string account, string key, string reason);

    [LoggerMessage(EventId = 7102, EventName = "RedisTokenRecordChangedElsewhere", Level = LogLevel.Information,
        Message = "The tokens of account {Account} were not saved: another replica changed them since they were read (the newer ones are kept)")]
    private static partial void LogChangedElsewhere(ILogger logger, string account);
}
