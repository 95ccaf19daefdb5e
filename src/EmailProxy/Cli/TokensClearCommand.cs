using EmailProxy.TokenStore;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy tokens clear ACCOUNT</c>: removes the account's token file, whatever it holds (a
/// damaged one too), so that its next login needs a sign-in. With a running proxy the proxy does it
/// (<c>/forget</c>), so that it forgets the tokens it holds in memory too; without one the file is
/// removed here, holding the token folder's instance lock. Nothing else is touched.
/// </summary>
internal static class TokensClearCommand
{
    public static async Task<int> RunAsync(string? configPath, string accountName, CancellationToken cancellationToken)
    {
        var (path, read) = ProxyCommandLine.ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ProxyCommandLine.ExitBadConfig;
        }
        if (ProxyCommandLine.SelectAccounts(path, config, accountName) is not [var account])
        {
            return ProxyCommandLine.ExitFailure;
        }
        using var presence = await ProxyPresence.FindAsync(config, cancellationToken);
        if (presence.Refusal is { } refusal)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {refusal}");
            return ProxyCommandLine.ExitFailure;
        }
        try
        {
            if (presence.Online is { } proxy)
            {
                var forgotten = await proxy.ForgetAsync(account.Name, cancellationToken);
                await Console.Out.WriteLineAsync(forgotten
                    ? $"Account {account.Name}: its tokens were removed, and the running proxy forgot them; its next login needs a sign-in."
                    : $"Account {account.Name} had no tokens: nothing to clear.");
                return ProxyCommandLine.ExitOk;
            }
            if (config.General.TokenStore == Configuration.TokenStoreKind.Redis && config.General.Redis is { } connectionString)
            {
                await using var redis = Redis.RedisConnection.ForCommand(connectionString);
                // A Redis that cannot be reached is a TokenStoreUnavailableException naming it (answered below).
                var cleared = await RedisTokenStore.DeleteRecordAsync(redis, account.Name, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken);
                await Console.Out.WriteLineAsync(cleared
                    ? $"Account {account.Name}: its tokens were removed from Redis at {redis.Description}, and the running replicas told; its next login needs a sign-in."
                    : $"Account {account.Name} has no tokens in Redis at {redis.Description}: nothing to clear.");
                return ProxyCommandLine.ExitOk;
            }
            var tokenDirectory = config.TokenDirectory;
            var removed = await TokenFileStore.DeleteAsync(tokenDirectory, account.Name, TokenFileStore.DefaultLockTimeout, TimeProvider.System, cancellationToken);
            await Console.Out.WriteLineAsync(removed
                ? $"Account {account.Name}: its token file {Path.Combine(tokenDirectory, TokenFileName.For(account.Name))} was removed; its next login needs a sign-in."
                : $"Account {account.Name} has no token file: nothing to clear.");
            return ProxyCommandLine.ExitOk;
        }
        catch (ControlException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
        catch (TokenStoreUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: the tokens of account {account.Name} cannot be removed: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"emailproxy: the token file of account {account.Name} cannot be removed: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
    }
}
