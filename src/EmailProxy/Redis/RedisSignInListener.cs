using EmailProxy.OAuth2;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Redis;

/// <summary>
/// Subscribes the sign-in manager to the other replicas' sign-in ends (<see cref="RedisSignInStore.Channel"/>) at start, so
/// that a login waiting here hears of a sign-in completed on another replica. When Redis cannot be reached at start it
/// tries again every <see cref="Retry"/> until it can; once subscribed, the multiplexer subscribes again by itself after
/// a reconnect.
/// </summary>
internal sealed partial class RedisSignInListener(RedisSignInStore store, SignInManager signIns, TimeProvider time, ILogger<RedisSignInListener> log)
    : IHostedService, IDisposable
{
    public static readonly TimeSpan Retry = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private Task _retrying = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await TrySubscribeAsync(cancellationToken))
        {
            _retrying = RetryAsync(_stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _retrying.WaitAsync(cancellationToken);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RetryAsync(CancellationToken stopping)
    {
        try
        {
            do
            {
                await Task.Delay(Retry, time, stopping);
            }
            while (!await TrySubscribeAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The proxy stops.
        }
    }

    private async Task<bool> TrySubscribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.SubscribeAsync(signIns.OnSharedEnd, cancellationToken);
            LogSubscribed(log);
            return true;
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogNotSubscribed(log, store.Description, reason, (int)Retry.TotalSeconds);
            return false;
        }
    }

    [LoggerMessage(EventId = 7202, EventName = "SharedSignInsSubscribed", Level = LogLevel.Debug,
        Message = "Listening for sign-ins that end on other replicas")]
    private static partial void LogSubscribed(ILogger logger);

    [LoggerMessage(EventId = 7203, EventName = "SharedSignInsNotSubscribed", Level = LogLevel.Warning,
        Message = "Cannot listen for sign-ins that end on other replicas: Redis at {Redis} cannot be used ({Reason}); trying again every {Seconds} s")]
    private static partial void LogNotSubscribed(ILogger logger, string redis, string reason, int seconds);
}
