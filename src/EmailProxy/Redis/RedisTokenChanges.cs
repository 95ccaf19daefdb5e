using EmailProxy.OAuth2;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.Redis;

/// <summary>
/// Tells the replicas about each other's token changes (<c>token_store = redis</c>): after a save or a removal a replica
/// publishes <c>{InstanceId}\n{change}\n{account}</c> on <see cref="Channel"/> (<see cref="PublishAsync"/>; change one of
/// <see cref="TokenChange"/>, lower case), and every other replica drops what it holds in memory of that account
/// (<see cref="TokenService.ForgetCached"/>), so that its next login reads the store again: a sign-in, a refresh,
/// <c>tokens clear</c> or an invalid_grant on one replica is seen by all. What was redeemed from the tokens (the Graph token)
/// is dropped too, except after a refresh: the same sign-in, and dropping it there would have replicas redeem each other's
/// rotations back and forth. The older message <c>{InstanceId}\n{account}</c> (a replica of an earlier version) is still
/// understood, as a change of unknown kind: everything is dropped. The subscription is made at start, retried until Redis
/// answers, and kept by the multiplexer across reconnects.
/// </summary>
internal sealed partial class RedisTokenChanges(RedisConnection redis, TokenService tokens, TimeProvider time, ILogger<RedisTokenChanges> log) : BackgroundService
{
    public const string Channel = RedisConnection.KeyPrefix + "tokens";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Each <see cref="TokenChange"/>'s name in a message, by its value.</summary>
    private static readonly string[] ChangeNames = [.. Enum.GetValues<TokenChange>().Select(change => change.ToString().ToLowerInvariant())];

    /// <summary>Publishes that this replica changed the account's tokens; a failure is logged (the others see it at their next miss).</summary>
    public static async Task PublishAsync(RedisConnection redis, string accountName, TokenChange change, ILogger log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(redis);
        try
        {
            var multiplexer = await redis.GetAsync(cancellationToken);
            await multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(Channel), Message(redis.InstanceId, change, accountName)).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (RedisConnection.IsUnavailable(e))
        {
            LogPublishFailed(log, accountName, e.GetType().Name);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var multiplexer = await redis.GetAsync(stoppingToken);
                await multiplexer.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel), (_, message) => OnMessage(message)).WaitAsync(stoppingToken);
                return;
            }
            catch (Exception e) when (RedisConnection.IsUnavailable(e))
            {
                LogSubscribeFailed(log, redis.Description, e.GetType().Name);
                await Task.Delay(RetryDelay, time, stoppingToken);
            }
        }
    }

    /// <summary>The text published for a change: <c>{instance}\n{change}\n{account}</c>.</summary>
    public static string Message(string instanceId, TokenChange change, string accountName) =>
        $"{instanceId}\n{ChangeNames[(int)change]}\n{accountName}";

    /// <summary>
    /// Reads a published text: who sent it, what changed (null: a message of the older form, which does not say) and the
    /// account; null when it is not one.
    /// </summary>
    public static (string Instance, TokenChange? Change, string Account)? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0 || newline == text.Length - 1)
        {
            return null;
        }
        var (instance, rest) = (text[..newline], text[(newline + 1)..]);
        var second = rest.IndexOf('\n', StringComparison.Ordinal);
        // Account names hold no line break: a second one is the newer form's.
        if (second > 0 && Enum.TryParse<TokenChange>(rest[..second], ignoreCase: true, out var change) && !int.TryParse(rest[..second], out _))
        {
            return (instance, change, rest[(second + 1)..]);
        }
        return (instance, null, rest);
    }

    private void OnMessage(RedisValue message)
    {
        if (Parse(message.ToString()) is not { } heard || heard.Instance == redis.InstanceId)
        {
            return;
        }
        // Only a refresh keeps what was redeemed from the tokens: the same sign-in.
        tokens.ForgetCached(heard.Account, tokensReplaced: heard.Change != TokenChange.Refreshed);
        LogForgotten(log, heard.Account, heard.Change is { } change ? ChangeNames[(int)change] : "unknown");
    }

    [LoggerMessage(EventId = 7111, EventName = "RedisTokenChangeHeard", Level = LogLevel.Debug,
        Message = "Another replica changed the tokens of account {Account} ({Change}): they are read again from Redis at its next use")]
    private static partial void LogForgotten(ILogger logger, string account, string change);

    [LoggerMessage(EventId = 7112, EventName = "RedisTokenChangePublishFailed", Level = LogLevel.Warning,
        Message = "The other replicas could not be told that the tokens of account {Account} changed ({Failure}); they read them again when theirs fail")]
    private static partial void LogPublishFailed(ILogger logger, string account, string failure);

    [LoggerMessage(EventId = 7113, EventName = "RedisTokenChangeSubscribeFailed", Level = LogLevel.Warning,
        Message = "Could not subscribe to the other replicas' token changes at Redis {EndPoints} ({Failure}); trying again")]
    private static partial void LogSubscribeFailed(ILogger logger, string endPoints, string failure);
}
