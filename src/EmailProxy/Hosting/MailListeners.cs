using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// Starts the mail listeners and keeps trying the ones whose port cannot be bound, so that one taken
/// port (another program on 1993, an address that appears only once the network is up) does not stop
/// the proxy: the other listeners serve meanwhile and <c>/readyz</c> names the missing one. The first
/// try runs once every hosted service has started — after the HTTP listener is bound, whose failure
/// still stops the start (it is where the operator looks) before any mail port is touched — and
/// before "started" is logged. A listener that fails is logged once, again only when its reason
/// changes, and once when it binds: never a line every <see cref="RetryInterval"/>. On shutdown
/// the retries stop first, then every bound listener stops within the host's shutdown timeout.
/// </summary>
internal sealed partial class MailListeners(IReadOnlyList<MailListener> listeners, TimeProvider time, ILogger<MailListeners> log)
    : IHostedLifecycleService, IAsyncDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _retries = [];
    private int _disposed;

    public IReadOnlyList<MailListener> Listeners { get; } = listeners;

    /// <summary>The retry loops of the listeners not bound at the first try (for tests).</summary>
    public Task Retrying => Task.WhenAll(_retries);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        foreach (var listener in Listeners)
        {
            if (await listener.TryBindAsync(cancellationToken))
            {
                LogListening(log, listener.Protocol, listener.EndPoint);
                continue;
            }
            LogCannotListen(log, listener.Protocol, listener.EndPoint, listener.Problem ?? "", RetryInterval.TotalSeconds);
            _retries.Add(RetryAsync(listener, _stopping.Token));
        }
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        // A bind that completes while stopping is stopped below with the others.
        await Retrying;
        await Task.WhenAll(Listeners.Select(listener => listener.StopAsync(cancellationToken)));
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops at once what is still bound (after <see cref="StopAsync"/>, nothing is). Registered twice, disposed once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync();
        await Retrying;
        foreach (var listener in Listeners)
        {
            await listener.DisposeAsync();
        }
        _stopping.Dispose();
    }

    private async Task RetryAsync(MailListener listener, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(RetryInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var before = listener.Problem;
                if (await listener.TryBindAsync(cancellationToken))
                {
                    LogListening(log, listener.Protocol, listener.EndPoint);
                    return;
                }
                if (listener.Problem is { } now && now != before)
                {
                    LogCannotListen(log, listener.Protocol, listener.EndPoint, now, RetryInterval.TotalSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The proxy stops.
        }
#pragma warning disable CA1031 // A retry that fails in an unforeseen way must not keep the others from being stopped and disposed.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogCannotListen(log, listener.Protocol, listener.EndPoint, $"{e.GetType().Name}: {e.Message}; not tried again", RetryInterval.TotalSeconds);
        }
    }

    /// <summary>The same words as the HTTP listener's line (ProxyHost), which tests and operators look for.</summary>
    [LoggerMessage(EventId = 8, EventName = "MailListening", Level = LogLevel.Information, Message = "Listening for {Protocol} on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string protocol, IPEndPoint endPoint);

    [LoggerMessage(EventId = 9, EventName = "MailCannotListen", Level = LogLevel.Warning,
        Message = "Cannot listen for {Protocol} on {EndPoint}: {Reason}. Tried again every {RetrySeconds} s (logged again only if the reason changes); the other listeners serve meanwhile and /readyz names this one until it is bound")]
    private static partial void LogCannotListen(ILogger logger, string protocol, IPEndPoint endPoint, string reason, double retrySeconds);
}
