using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Accounts;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that counts the timers made on it (each Task.Delay and each
/// CancellationTokenSource with a delay makes one) and the ones still alive (not disposed), and tells
/// when a count is reached.
/// </summary>
internal sealed class TimerWatchingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero))
{
    private readonly object _gate = new();
    private readonly List<(Func<bool> Reached, TaskCompletionSource Signal)> _waiters = [];
    private int _created;
    private int _live;

    public int TimersCreated
    {
        get
        {
            lock (_gate)
            {
                return _created;
            }
        }
    }

    /// <summary>Completes once <paramref name="count"/> timers have been made.</summary>
    public Task WhenTimersCreatedAsync(int count) => When(() => _created >= count);

    /// <summary>Completes once at most <paramref name="count"/> timers are alive (made and not yet disposed).</summary>
    public Task WhenLiveTimersAtMostAsync(int count) => When(() => _live <= count);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new WatchedTimer(base.CreateTimer(callback, state, dueTime, period), this);
        lock (_gate)
        {
            _created++;
            _live++;
            Signal();
        }
        return timer;
    }

    private Task When(Func<bool> reached)
    {
        lock (_gate)
        {
            if (reached())
            {
                return Task.CompletedTask;
            }
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((reached, signal));
            return signal.Task.Guarded();
        }
    }

    /// <summary>Completes the waiters whose count is reached; the caller holds the gate.</summary>
    private void Signal()
    {
        foreach (var waiter in _waiters.Where(w => w.Reached()).ToList())
        {
            waiter.Signal.TrySetResult();
            _waiters.Remove(waiter);
        }
    }

    private void Disposed()
    {
        lock (_gate)
        {
            _live--;
            Signal();
        }
    }

    /// <summary>The fake clock's timer, telling the provider once when it is disposed.</summary>
    private sealed class WatchedTimer(ITimer inner, TimerWatchingTimeProvider owner) : ITimer
    {
        private int _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            inner.Dispose();
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Disposed();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
