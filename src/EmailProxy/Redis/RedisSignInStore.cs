using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EmailProxy.OAuth2;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.Redis;

/// <summary>
/// The pending sign-ins every replica sees (<c>token_store = redis</c>), sealed under the master key
/// (<see cref="TokenCipher.SealRecord"/>, bound to the key they are kept under) and kept for their life (a TTL):
/// <list type="bullet">
/// <item><c>emailproxy:signin:account:{folded name}</c>: a hash (<c>id</c>, <c>record</c>), the account's sign-in under
/// way, so that a login on another replica joins it instead of starting a second;</item>
/// <item><c>emailproxy:signin:state:{sha256(state)}</c>: a browser sign-in by its state, taken exactly once (GETDEL) by
/// the replica its redirect lands on: two replicas never both redeem one code;</item>
/// <item><c>emailproxy:signin:poll:{id}</c>: a device code's poller (its replica's InstanceId) with a short lease it
/// renews at every poll, so that another replica takes the polling over when it is gone.</item>
/// <item><c>emailproxy:signin:password:{folded name}</c>: a template account's generated password that nobody was shown yet,
/// sealed, for <see cref="Accounts.UnshownPasswords.SharedLife"/>; taken once (GETDEL) by the replica whose status page shows it.</item>
/// </list>
/// The end of a shared sign-in is published on <see cref="Channel"/> (<see cref="RedisSignInMessage"/>). No key and no
/// message holds a state, verifier or device code: keys name a sign-in by the SHA-256 of its secret.
/// </summary>
internal sealed partial class RedisSignInStore(RedisConnection redis, MasterKey key, TimeProvider time, ILogger<RedisSignInStore> log)
{
    /// <summary>Where the end of a shared sign-in is published.</summary>
    public const string Channel = RedisConnection.KeyPrefix + "signin";

    private const string AccountPrefix = RedisConnection.KeyPrefix + "signin:account:";
    private const string StatePrefix = RedisConnection.KeyPrefix + "signin:state:";
    private const string PollPrefix = RedisConnection.KeyPrefix + "signin:poll:";
    private const string PasswordPrefix = RedisConnection.KeyPrefix + "signin:password:";
    private const string IdField = "id";
    private const string RecordField = "record";

    /// <summary>Deletes the account's record if it is still this sign-in's, the sign-in's poll lease, and its state when given (KEYS[3]).</summary>
    private const string EndScript = """
        if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then redis.call('DEL', KEYS[1]) end
        redis.call('DEL', KEYS[2])
        if #KEYS >= 3 then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    /// <summary>Deletes a key if it still holds ARGV[1] (a newer value is left).</summary>
    private const string DeleteIfScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    /// <summary>Renews the poll lease if this replica holds it.</summary>
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """;

    private readonly TokenCipher _cipher = new(key);

    /// <summary>This replica among the others (<see cref="RedisConnection.InstanceId"/>).</summary>
    public string InstanceId => redis.InstanceId;

    /// <summary>Where Redis is, for texts (never the password).</summary>
    public string Description => redis.Description;

    /// <summary>Lower-case hex SHA-256 of a secret: how keys and messages name a sign-in.</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string AccountKey(string accountName) => AccountPrefix + TokenFileName.Fold(accountName);

    public static string StateKey(string state) => StatePrefix + Hash(state);

    public static string PollKey(string id) => PollPrefix + id;

    /// <summary>Where a template account's generated password nobody was shown yet waits (<see cref="Accounts.UnshownPasswords"/>).</summary>
    public static string PasswordKey(string accountName) => PasswordPrefix + TokenFileName.Fold(accountName);

    /// <summary>Whether an exception says that Redis cannot be used now (down, unreachable, too slow, or the proxy stopping).</summary>
    public static bool IsUnavailable(Exception exception) => RedisConnection.IsUnavailable(exception);

    /// <summary>The record sealed under the master key, bound to <paramref name="redisKey"/>.</summary>
    public static string Seal(TokenCipher cipher, string redisKey, RedisSignInRecord record)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(record, RedisSignInJsonContext.Default.RedisSignInRecord);
        try
        {
            return cipher.SealRecord(redisKey, plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>The record sealed under <paramref name="redisKey"/>.</summary>
    /// <exception cref="CryptographicException">Another key sealed it, or it was sealed for another key, or changed.</exception>
    /// <exception cref="FormatException">It is not base64.</exception>
    /// <exception cref="InvalidDataException">It is truncated or holds no usable record.</exception>
    public static RedisSignInRecord Open(TokenCipher cipher, string redisKey, string sealedRecord)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        var plaintext = cipher.OpenRecord(redisKey, sealedRecord);
        try
        {
            var record = JsonSerializer.Deserialize(plaintext, RedisSignInJsonContext.Default.RedisSignInRecord);
            return record is { IsComplete: true } ? record : throw new InvalidDataException("the sign-in record is incomplete");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("the sign-in record is not valid JSON", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public static string Serialize(RedisSignInMessage message) =>
        JsonSerializer.Serialize(message, RedisSignInJsonContext.Default.RedisSignInMessage);

    /// <summary>The message, or null when it is not one (another program's, or damaged).</summary>
    public static RedisSignInMessage? ParseMessage(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(text, RedisSignInJsonContext.Default.RedisSignInMessage) is { Instance: not null, Account: not null, Id: not null, Message: not null } message
                ? message
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The account's sign-in under way that any replica started, or null.</summary>
    public async Task<RedisSignInRecord?> CurrentAsync(string accountName, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var (_, record) = await ReadAccountAsync(database, AccountKey(accountName), cancellationToken);
        return record is not null && record.ExpiresAt > time.GetUtcNow() ? record : null;
    }

    /// <summary>
    /// Makes <paramref name="proposed"/> the account's sign-in under way, unless one is that <paramref name="joinable"/>
    /// accepts: then that one is returned, and the caller joins it. Written with a check on the record it replaces (none, or
    /// one not joinable), so that of two replicas starting at once one wins and the other joins. A browser sign-in is
    /// also written under its state; a device code's poll lease, when <paramref name="pollLease"/> is given, is taken
    /// for this replica in the same transaction.
    /// </summary>
    public async Task<RedisSignInRecord> StartOrJoinAsync(RedisSignInRecord proposed, Func<RedisSignInRecord, bool> joinable, TimeSpan? pollLease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(proposed);
        ArgumentNullException.ThrowIfNull(joinable);
        var database = await DatabaseAsync(cancellationToken);
        var accountKey = AccountKey(proposed.Account);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var (currentId, current) = await ReadAccountAsync(database, accountKey, cancellationToken);
            var now = time.GetUtcNow();
            if (current is not null && current.ExpiresAt > now && joinable(current))
            {
                return current;
            }
            var life = proposed.ExpiresAt - now;
            if (life <= TimeSpan.Zero)
            {
                return proposed;
            }
            var transaction = database.CreateTransaction();
            transaction.AddCondition(currentId is null ? Condition.KeyNotExists(accountKey) : Condition.HashEqual(accountKey, IdField, currentId));
            _ = transaction.HashSetAsync(accountKey, [new HashEntry(IdField, proposed.Id), new HashEntry(RecordField, Seal(_cipher, accountKey, proposed))]);
            _ = transaction.KeyExpireAsync(accountKey, life);
            if (proposed.Method == SignInMethod.Browser)
            {
                var stateKey = StateKey(proposed.State!);
                _ = transaction.StringSetAsync(stateKey, Seal(_cipher, stateKey, proposed), life);
            }
            if (pollLease is { } lease)
            {
                _ = transaction.StringSetAsync(PollKey(proposed.Id), InstanceId, lease);
            }
            if (await transaction.ExecuteAsync().WaitAsync(cancellationToken))
            {
                return proposed;
            }
        }
        throw new RedisException("the pending sign-in kept changing while it was written");
    }

    /// <summary>Takes the browser sign-in of <paramref name="state"/> (it is gone for every replica after), or null: unknown, expired, or taken already.</summary>
    public async Task<RedisSignInRecord?> TakeAsync(string state, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var stateKey = StateKey(state);
        var value = await database.StringGetDeleteAsync(stateKey).WaitAsync(cancellationToken);
        return OpenOrNull(stateKey, value);
    }

    /// <summary>The browser sign-in of <paramref name="state"/>, left in place (a pasted address is checked against its account first).</summary>
    public async Task<RedisSignInRecord?> PeekAsync(string state, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var stateKey = StateKey(state);
        return OpenOrNull(stateKey, await database.StringGetAsync(stateKey).WaitAsync(cancellationToken));
    }

    /// <summary>Takes a device code's polling over when nobody holds its lease (its poller's replica is gone); true when this replica now holds it.</summary>
    public async Task<bool> TryTakePollAsync(string id, TimeSpan lease, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        return await database.StringSetAsync(PollKey(id), InstanceId, lease, When.NotExists).WaitAsync(cancellationToken);
    }

    /// <summary>Renews this replica's poll lease; false when it does not hold it any more (another replica took the polling over).</summary>
    public async Task<bool> RenewPollAsync(string id, TimeSpan lease, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var renewed = await database.ScriptEvaluateAsync(RenewScript, [PollKey(id)], [InstanceId, (long)lease.TotalMilliseconds]).WaitAsync(cancellationToken);
        return (long)renewed == 1;
    }

    /// <summary>
    /// A shared sign-in ended here: its record and lease are removed, and every replica is told. <paramref name="state"/>: a
    /// browser sign-in ended before its redirect came (a reload changed its account's settings), whose state goes too, so
    /// that no replica redeems its code.
    /// </summary>
    public async Task EndAsync(RedisSignInMessage message, CancellationToken cancellationToken, string? state = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var multiplexer = await redis.GetAsync(cancellationToken);
        RedisKey[] keys = state is null ? [AccountKey(message.Account), PollKey(message.Id)] : [AccountKey(message.Account), PollKey(message.Id), StateKey(state)];
        await multiplexer.GetDatabase().ScriptEvaluateAsync(EndScript, keys, [message.Id]).WaitAsync(cancellationToken);
        await multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(Channel), Serialize(message)).WaitAsync(cancellationToken);
    }

    /// <summary>Hears every replica's <see cref="RedisSignInMessage"/> (its own too) until the proxy stops; the multiplexer subscribes again after a reconnect.</summary>
    public async Task SubscribeAsync(Action<RedisSignInMessage> handler, CancellationToken cancellationToken)
    {
        var multiplexer = await redis.GetAsync(cancellationToken);
        await multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel), (_, value) =>
        {
            if (ParseMessage(value) is { } message)
            {
                handler(message);
            }
        }).WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Keeps the account's generated password, sealed under the master key (bound to its key), for <paramref name="life"/>; one
    /// kept before is replaced (a newer sign-in made a newer one). Returns what was written, to remove exactly it later.
    /// </summary>
    public async Task<string> HoldPasswordAsync(string accountName, string password, TimeSpan life, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(password);
        var database = await DatabaseAsync(cancellationToken);
        var passwordKey = PasswordKey(accountName);
        var sealedPassword = _cipher.SealRecord(passwordKey, Encoding.UTF8.GetBytes(password));
        await database.StringSetAsync(passwordKey, sealedPassword, life).WaitAsync(cancellationToken);
        return sealedPassword;
    }

    /// <summary>Takes the account's generated password (GETDEL: one replica gets it, once), or null when none waits.</summary>
    public async Task<string?> TakePasswordAsync(string accountName, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var passwordKey = PasswordKey(accountName);
        var value = await database.StringGetDeleteAsync(passwordKey).WaitAsync(cancellationToken);
        if (value.IsNullOrEmpty)
        {
            return null;
        }
        try
        {
            return Encoding.UTF8.GetString(_cipher.OpenRecord(passwordKey, value.ToString()));
        }
        catch (Exception e) when (e is CryptographicException or FormatException or InvalidDataException)
        {
            LogUnreadable(log, e.GetType().Name);
            return null;
        }
    }

    /// <summary>Whether a generated password of the account waits to be shown.</summary>
    /// <exception cref="RedisConnectionException">The connection to Redis is lost now: answered at once rather than after the
    /// client's backlog timeout, since the status page asks for every template account in turn.</exception>
    public async Task<bool> IsPasswordWaitingAsync(string accountName, CancellationToken cancellationToken)
    {
        if (redis.IsLost)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis at {redis.Description} is not connected");
        }
        var database = await DatabaseAsync(cancellationToken);
        return await database.KeyExistsAsync(PasswordKey(accountName)).WaitAsync(cancellationToken);
    }

    /// <summary>Removes the password <see cref="HoldPasswordAsync"/> wrote (it was shown another way), unless a newer one replaced it.</summary>
    public async Task ForgetPasswordAsync(string accountName, string sealedPassword, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        await database.ScriptEvaluateAsync(DeleteIfScript, [PasswordKey(accountName)], [sealedPassword]).WaitAsync(cancellationToken);
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken) => (await redis.GetAsync(cancellationToken)).GetDatabase();

    private async Task<(string? Id, RedisSignInRecord? Record)> ReadAccountAsync(IDatabase database, string accountKey, CancellationToken cancellationToken)
    {
        var fields = await database.HashGetAsync(accountKey, [IdField, RecordField]).WaitAsync(cancellationToken);
        if (fields[0].IsNull)
        {
            return (null, null);
        }
        var record = OpenOrNull(accountKey, fields[1]);
        return (fields[0].ToString(), record is not null && record.Id == fields[0].ToString() ? record : null);
    }

    /// <summary>Opens a value; one that does not open (another master key, damaged) is logged and counts as none.</summary>
    private RedisSignInRecord? OpenOrNull(string redisKey, RedisValue value)
    {
        if (value.IsNullOrEmpty)
        {
            return null;
        }
        try
        {
            return Open(_cipher, redisKey, value.ToString());
        }
        catch (Exception e) when (e is CryptographicException or FormatException or InvalidDataException)
        {
            LogUnreadable(log, e.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(EventId = 7201, EventName = "SharedSignInUnreadable", Level = LogLevel.Warning,
        Message = "A pending sign-in in Redis does not open with this proxy's master key ({Reason}): ignored. Every replica must be given the same key")]
    private static partial void LogUnreadable(ILogger logger, string reason);
}
