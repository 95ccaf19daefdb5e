using EmailProxy.OAuth2;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.Redis;

/// <summary>
/// Tells the replicas about each other's token changes (<c>token_store = redis</c>): after a save or a removal a replica
/// publishes <c>{InstanceId}\n{account}</c> on <see cref="Channel"/> (<see cref="PublishAsync"/>), and every other replica drops
/// what it holds in memory of that account (<see cref="TokenService.ForgetCached"/>), so that its next login reads the store
/// again: a sign-in, a refresh, <c>tokens clear</c> or an invalid_grant on one replica is seen by all. The subscription is
/// made at start, retried until Redis answers, and kept by the multiplexer across reconnects.
/// </summary>
internal sealed partial class RedisTokenChanges(RedisConnection redis, TokenService tokens, TimeProvider time, ILogger<RedisTokenChanges> log) : BackgroundService
{
    public const string Channel = RedisConnection.KeyPrefix + "tokens";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Publishes that this replica changed the account's tokens; a failure is logged (the others see it at their next miss).</summary>
    public static async Task PublishAsync(RedisConnection redis, string accountName, ILogger log, CancellationToken cancellationToken)
    {
        try
        {
            var multiplexer = await redis.GetAsync(cancellationToken);
            await multiplexer.GetSubscriber().PublishAsync(RedisChannel.Literal(Channel), redis.InstanceId + "\n" + accountName).WaitAsync(cancellationToken);
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

    private void OnMessage(RedisValue message)
    {
        var text = message.ToString();
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0 || text.AsSpan(0, newline).SequenceEqual(redis.InstanceId))
        {
            return;
        }
        var accountName = text[(newline + 1)..];
        tokens.ForgetCached(accountName);
        LogForgotten(log, accountName);
    }

    [LoggerMessage(EventId = 7111, EventName = "RedisTokenChangeHeard", Level = LogLevel.Debug,
        Message = "Another replica changed the tokens of account {Account}: they are read again from Redis at its next use")]
    private static partial void LogForgotten(ILogger logger, string account);

    [LoggerMessage(EventId = 7112, EventName = "RedisTokenChangePublishFailed", Level = LogLevel.Warning,
        Message = "The other replicas could not be told that the tokens of account {Account} changed ({Failure}); they read them again when theirs fail")]
    private static partial void LogPublishFailed(ILogger logger, string account, string failure);

    [LoggerMessage(EventId = 7113, EventName = "RedisTokenChangeSubscribeFailed", Level = LogLevel.Warning,
        Message = "Could not subscribe to the other replicas' token changes at Redis {EndPoints} ({Failure}); trying again")]
    private static partial void LogSubscribeFailed(ILogger logger, string endPoints, string failure);
}
