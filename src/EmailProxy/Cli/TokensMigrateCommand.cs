using System.Text;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.Redis;
using EmailProxy.Storage;
using EmailProxy.TokenStore;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy tokens migrate --to redis|file</c>: copies every account's tokens between the token folder
/// (<c>token_dir</c>) and Redis (<c>redis</c>), so that no account needs a new sign-in when the proxies change store.
/// Each record moves as it is: the readable metadata and the secrets sealed under the master key, never opened (no key
/// is needed). Nothing kept at the destination is overwritten (an account already there is passed over and named), and the
/// source is left as it is. The configuration names both sides: <c>token_store = redis</c> with its <c>redis</c>, and
/// <c>token_dir</c>. Refused while a proxy holds the token folder; the folder's instance lock is held meanwhile.
/// </summary>
internal static class TokensMigrateCommand
{
    public static async Task<int> RunAsync(string? configPath, string to, CancellationToken cancellationToken)
    {
        var (_, read) = ProxyCommandLine.ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ProxyCommandLine.ExitBadConfig;
        }
        var toRedis = string.Equals(to, "redis", StringComparison.OrdinalIgnoreCase);
        if (!toRedis && !string.Equals(to, "file", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync("emailproxy: --to takes redis (token folder to Redis) or file (Redis to token folder)");
            return ProxyCommandLine.ExitFailure;
        }
        if (config.General.TokenStore != TokenStoreKind.Redis || config.General.Redis is not { } connectionString)
        {
            await Console.Error.WriteLineAsync("emailproxy: tokens migrate needs token_store = redis and redis = host:port in [general] (Redis is one side, token_dir the other)");
            return ProxyCommandLine.ExitFailure;
        }
        using var presence = await ProxyPresence.FindAsync(config, cancellationToken);
        if (presence.Refusal is { } refusal)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {refusal}");
            return ProxyCommandLine.ExitFailure;
        }
        if (presence.Online is not null)
        {
            await Console.Error.WriteLineAsync($"emailproxy: a proxy is running with the token folder {config.TokenDirectory}: stop every proxy of this store first, migrate, then start them on the new one");
            return ProxyCommandLine.ExitFailure;
        }
        await using var redis = RedisConnection.ForCommand(connectionString);
        try
        {
            var (moved, kept) = toRedis
                ? await ToRedisAsync(redis, config.TokenDirectory, cancellationToken)
                : await ToFilesAsync(redis, config.TokenDirectory, cancellationToken);
            var (from, where) = toRedis ? (config.TokenDirectory, $"Redis at {redis.Description}") : ($"Redis at {redis.Description}", config.TokenDirectory);
            await Console.Out.WriteLineAsync($"{moved.Count} account(s) copied from {from} to {where}{(moved.Count == 0 ? "" : ": " + string.Join(", ", moved))}.");
            if (kept.Count > 0)
            {
                await Console.Out.WriteLineAsync($"Passed over, already at the destination (not overwritten): {string.Join(", ", kept)}.");
            }
            await Console.Out.WriteLineAsync($"The source is left as it is. Set token_store = {(toRedis ? "redis" : "file")} on every proxy and start them; remove the source once they work.");
            return ProxyCommandLine.ExitOk;
        }
        catch (TokenStoreUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            await Console.Error.WriteLineAsync($"emailproxy: Redis at {redis.Description} cannot be reached ({e.GetType().Name}): nothing was copied");
            return ProxyCommandLine.ExitFailure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"emailproxy: the token folder {config.TokenDirectory} cannot be read or written: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
    }

    private static async Task<(List<string> Moved, List<string> Kept)> ToRedisAsync(RedisConnection redis, string tokenDirectory, CancellationToken cancellationToken)
    {
        var (moved, kept) = (new List<string>(), new List<string>());
        if (!Directory.Exists(tokenDirectory))
        {
            return (moved, kept);
        }
        foreach (var path in Directory.GetFiles(tokenDirectory, "*" + TokenFileName.Extension).Order(StringComparer.Ordinal))
        {
            var json = await File.ReadAllTextAsync(path, cancellationToken);
            if (AccountOf(json) is not { } account || Path.GetFileName(path) != TokenFileName.For(account))
            {
                await Console.Error.WriteLineAsync($"emailproxy: {path} is not a token file this version wrote under its account's name: passed over");
                continue;
            }
            (await RedisTokenStore.TryAddRecordAsync(redis, account, json, cancellationToken) ? moved : kept).Add(account);
        }
        return (moved, kept);
    }

    private static async Task<(List<string> Moved, List<string> Kept)> ToFilesAsync(RedisConnection redis, string tokenDirectory, CancellationToken cancellationToken)
    {
        var (moved, kept) = (new List<string>(), new List<string>());
        foreach (var (key, record) in (await RedisTokenStore.ReadAllAsync(redis, cancellationToken)).OrderBy(r => r.Key.ToString(), StringComparer.Ordinal))
        {
            if (AccountOf(record) is not { } account || RedisTokenStore.KeyFor(account) != key)
            {
                await Console.Error.WriteLineAsync($"emailproxy: the Redis key {key} does not hold a record of its account: passed over");
                continue;
            }
            PrivateFile.CreatePrivateFolder(tokenDirectory);
            var path = Path.Combine(Path.GetFullPath(tokenDirectory), TokenFileName.For(account));
            (PrivateFile.TryCreate(path, Encoding.UTF8.GetBytes(record)) ? moved : kept).Add(account);
        }
        return (moved, kept);
    }

    /// <summary>The account a record says it belongs to (its readable <c>account</c>), or null when it is not a record.</summary>
    private static string? AccountOf(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, TokenJsonContext.Default.TokenFile) is { Account.Length: > 0, Secrets.Length: > 0 } file ? file.Account : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
