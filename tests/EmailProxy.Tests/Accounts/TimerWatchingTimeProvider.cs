using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Accounts;

/// <summary>A <see cref="FakeTimeProvider"/> that counts the timers made on it (each Task.Delay makes one) and tells when a count is reached.</summary>
internal sealed class TimerWatchingTimeProvider() : FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero))
{
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private int _created;

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
    public Task WhenTimersCreatedAsync(int count)
    {
        lock (_gate)
        {
            if (_created >= count)
            {
                return Task.CompletedTask;
            }
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task.Guarded();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _created++;
            foreach (var waiter in _waiters.Where(w => w.Count <= _created))
            {
                waiter.Reached.TrySetResult();
            }
        }
        return timer;
    }
}
