using EmailProxy.Accounts;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Accounts;

/// <summary>
/// A derivation that blocks its thread until <see cref="Release"/> (as a slow PBKDF2 would hold
/// it), counts how many run at once, and matches only <see cref="RightPassword"/>.
/// </summary>
internal sealed class BlockingKeyDerivation(bool blocks = true) : IKeyDerivation
{
    public const string RightPassword = "right";

    private TaskCompletionSource _released = NewGate(blocks);
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private int _running;

    public int Started { get; private set; }

    public int MaxRunning { get; private set; }

    /// <summary>How many derivations have returned.</summary>
    public int Finished { get; private set; }

    /// <summary>Whether a derivation ran on a thread of the thread pool (the sockets' threads).</summary>
    public bool RanOnThreadPool { get; private set; }

    public bool Matches(string passwordHash, string password)
    {
        Task released;
        lock (_gate)
        {
            released = _released.Task;
            Started++;
            _running++;
            MaxRunning = Math.Max(MaxRunning, _running);
            RanOnThreadPool |= Thread.CurrentThread.IsThreadPoolThread;
            foreach (var waiter in _waiters.Where(w => w.Count <= Started))
            {
                waiter.Reached.TrySetResult();
            }
        }
        try
        {
            // A guard, not a delay: a test that forgets Release fails instead of hanging.
            released.Wait(TestTimeout.Guard);
            return password == RightPassword;
        }
        finally
        {
            lock (_gate)
            {
                _running--;
                Finished++;
            }
        }
    }

    /// <summary>Completes once <paramref name="count"/> derivations have started.</summary>
    public Task WhenStartedAsync(int count)
    {
        lock (_gate)
        {
            if (Started >= count)
            {
                return Task.CompletedTask;
            }
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task.Guarded();
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            _released.TrySetResult();
        }
    }

    /// <summary>Makes the next derivations block again (until <see cref="Release"/>).</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _released = NewGate(blocks: true);
        }
    }

    private static TaskCompletionSource NewGate(bool blocks)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!blocks)
        {
            gate.SetResult();
        }
        return gate;
    }
}
