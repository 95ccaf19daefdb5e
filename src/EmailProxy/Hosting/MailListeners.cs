using System.Net;
using EmailProxy.Configuration;
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
/// <remarks>
/// A reload (<see cref="ApplyAsync"/>) rebinds only the listeners whose address or local TLS mode it
/// changes, or that it turns on or off: the old one stops accepting at once, while the sessions open on
/// it run on until they end (or until the proxy stops, like every other session); the new one is bound
/// and retried exactly like at start. The others are not touched. One change at a time, and none once
/// the proxy stops.
/// </remarks>
internal sealed partial class MailListeners : IHostedLifecycleService, IAsyncDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private static readonly MailListenerKind[] Kinds = [MailListenerKind.Imap, MailListenerKind.Smtp, MailListenerKind.Pop];

    private readonly Func<MailListenerKind, GeneralOptions, MailListener?>? _create;
    private readonly TimeProvider _time;
    private readonly ILogger<MailListeners> _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly SemaphoreSlim _changing = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<MailListener> _listeners;
    private readonly List<Task> _retries = [];
    private readonly Dictionary<MailListener, (CancellationTokenSource Stop, Task Loop)> _retryStops = [];
    private readonly List<Task> _draining = [];
    private int _disposed;

    /// <summary>A fixed set of listeners, never rebound.</summary>
    public MailListeners(IReadOnlyList<MailListener> listeners, TimeProvider time, ILogger<MailListeners> log)
    {
        _listeners = [.. listeners];
        _time = time;
        _log = log;
    }

    /// <summary>The listeners <paramref name="general"/> turns on, each made by <paramref name="create"/> (null: off); rebound by <see cref="ApplyAsync"/>.</summary>
    public MailListeners(GeneralOptions general, Func<MailListenerKind, GeneralOptions, MailListener?> create, TimeProvider time, ILogger<MailListeners> log)
        : this([.. Kinds.Select(kind => create(kind, general)).OfType<MailListener>()], time, log) => _create = create;

    /// <summary>The listeners in use now (a retired one is no longer among them).</summary>
    public IReadOnlyList<MailListener> Listeners
    {
        get
        {
            lock (_gate)
            {
                return [.. _listeners];
            }
        }
    }

    /// <summary>The retry loops of the listeners not bound at the first try (for tests).</summary>
    public Task Retrying
    {
        get
        {
            lock (_gate)
            {
                return Task.WhenAll([.. _retries]);
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await _changing.WaitAsync(cancellationToken);
        try
        {
            foreach (var listener in Listeners)
            {
                await BindOrRetryAsync(listener, cancellationToken);
            }
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>
    /// Rebinds the listeners whose address or TLS mode <paramref name="general"/> changes, or that it
    /// turns on or off; the others are not touched. Nothing with a fixed set, or once the proxy stops.
    /// </summary>
    public async Task ApplyAsync(GeneralOptions general, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(general);
        if (_create is null)
        {
            return;
        }
        await _changing.WaitAsync(cancellationToken);
        try
        {
            foreach (var kind in Kinds)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }
                var current = Listeners.FirstOrDefault(listener => listener.Kind == kind);
                var endPoint = general.ListenOf(kind);
                if ((current is null && endPoint is null) || (current is not null && Equals(current.EndPoint, endPoint) && current.Tls == general.TlsOf(kind)))
                {
                    continue;
                }
                if (current is not null)
                {
                    await RetireAsync(current);
                }
                if (_create(kind, general) is { } fresh)
                {
                    lock (_gate)
                    {
                        _listeners.Add(fresh);
                    }
                    await BindOrRetryAsync(fresh, cancellationToken);
                }
            }
        }
        finally
        {
            _changing.Release();
        }
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        // A change under way ends at its next listener; none starts after this.
        await _changing.WaitAsync(CancellationToken.None);
        try
        {
            // A bind that completes while stopping is stopped below with the others.
            await Retrying;
            // The sessions of retired listeners end like the others: on the host's stopping signal, aborted at the shutdown timeout.
            await using var abort = cancellationToken.Register(_abort.Cancel);
            Task[] draining;
            lock (_gate)
            {
                draining = [.. _draining];
            }
            await Task.WhenAll(Listeners.Select(listener => listener.StopAsync(cancellationToken)).Concat(draining));
        }
        finally
        {
            _changing.Release();
        }
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
        await _abort.CancelAsync();
        await Retrying;
        foreach (var listener in Listeners)
        {
            await listener.DisposeAsync();
        }
        Task[] draining;
        lock (_gate)
        {
            draining = [.. _draining];
            foreach (var (stop, _) in _retryStops.Values)
            {
                stop.Dispose();
            }
            _retryStops.Clear();
        }
        await Task.WhenAll(draining);
        _stopping.Dispose();
        _abort.Dispose();
        _changing.Dispose();
    }

    private async Task BindOrRetryAsync(MailListener listener, CancellationToken cancellationToken)
    {
        if (await listener.TryBindAsync(cancellationToken))
        {
            LogListening(_log, listener.Protocol, listener.EndPoint);
            return;
        }
        LogCannotListen(_log, listener.Protocol, listener.EndPoint, listener.Problem ?? "", RetryInterval.TotalSeconds);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        lock (_gate)
        {
            var loop = RetryAsync(listener, stop.Token);
            _retryStops[listener] = (stop, loop);
            _retries.Add(loop);
        }
    }

    /// <summary>Takes <paramref name="listener"/> out of use: its retries end, it stops accepting, and its open sessions are waited for in the background.</summary>
    private async Task RetireAsync(MailListener listener)
    {
        (CancellationTokenSource Stop, Task Loop) retry;
        bool retrying;
        lock (_gate)
        {
            _listeners.Remove(listener);
            retrying = _retryStops.Remove(listener, out retry);
        }
        if (retrying)
        {
            await retry.Stop.CancelAsync();
            await retry.Loop;
            retry.Stop.Dispose();
        }
        var draining = listener.StopAccepting(_abort.Token);
        lock (_gate)
        {
            _draining.RemoveAll(task => task.IsCompleted);
            _draining.Add(draining);
        }
        LogRetired(_log, listener.Protocol, listener.EndPoint);
    }

    private async Task RetryAsync(MailListener listener, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(RetryInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var before = listener.Problem;
                if (await listener.TryBindAsync(cancellationToken))
                {
                    LogListening(_log, listener.Protocol, listener.EndPoint);
                    return;
                }
                if (listener.Problem is { } now && now != before)
                {
                    LogCannotListen(_log, listener.Protocol, listener.EndPoint, now, RetryInterval.TotalSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The proxy stops, or a reload moved the listener.
        }
#pragma warning disable CA1031 // A retry that fails in an unforeseen way must not keep the others from being stopped and disposed.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogCannotListen(_log, listener.Protocol, listener.EndPoint, $"{e.GetType().Name}: {e.Message}; not tried again", RetryInterval.TotalSeconds);
        }
    }

    /// <summary>The same words as the HTTP listener's line (ProxyHost), which tests and operators look for.</summary>
    [LoggerMessage(EventId = 8, EventName = "MailListening", Level = LogLevel.Information, Message = "Listening for {Protocol} on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string protocol, IPEndPoint endPoint);

    [LoggerMessage(EventId = 9, EventName = "MailCannotListen", Level = LogLevel.Warning,
        Message = "Cannot listen for {Protocol} on {EndPoint}: {Reason}. Tried again every {RetrySeconds} s (logged again only if the reason changes); the other listeners serve meanwhile and /readyz names this one until it is bound")]
    private static partial void LogCannotListen(ILogger logger, string protocol, IPEndPoint endPoint, string reason, double retrySeconds);

    [LoggerMessage(EventId = 10, EventName = "MailListenerRetired", Level = LogLevel.Information,
        Message = "No longer accepting {Protocol} on {EndPoint} (the configuration moved it); sessions already open there run on until they end")]
    private static partial void LogRetired(ILogger logger, string protocol, IPEndPoint endPoint);
}
