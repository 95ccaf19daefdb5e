using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A thread-safe list of text lines that can be awaited: <see cref="WaitForAsync"/> completes when a matching line
/// is (or was already) added, and fails with all lines after a safety timeout or once the log is completed.
/// </summary>
internal sealed class ObservableLog
{
    /// <summary>The default safety timeout; it only ever fails a test, it never paces one.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Predicate, TaskCompletionSource<string> Completion)> _waiters = [];
    private string? _completedReason;

    public ObservableLog(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public void Add(string line)
    {
        List<TaskCompletionSource<string>> matched = [];
        lock (_gate)
        {
            _lines.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(line))
                {
                    matched.Add(_waiters[i].Completion);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var completion in matched)
        {
            completion.TrySetResult(line);
        }
    }

    /// <summary>No more lines will come: pending and later waits that find no match fail at once.</summary>
    public void Complete(string reason)
    {
        List<TaskCompletionSource<string>> pending;
        lock (_gate)
        {
            _completedReason = reason;
            pending = [.. _waiters.Select(waiter => waiter.Completion)];
            _waiters.Clear();
        }

        foreach (var completion in pending)
        {
            completion.TrySetException(new InvalidOperationException($"{reason}; the awaited line never came.\n{Describe()}"));
        }
    }

    public async Task<string> WaitForAsync(Func<string, bool> predicate, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var completion = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            foreach (var line in _lines)
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            if (_completedReason is not null)
            {
                throw new InvalidOperationException($"{_completedReason}; the awaited line never came.\n{DescribeLocked()}");
            }

            _waiters.Add((predicate, completion));
        }

        try
        {
            return await completion.Task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _waiters.RemoveAll(waiter => waiter.Completion == completion);
            }

            throw new TimeoutException($"The awaited line did not come within {(timeout ?? DefaultTimeout).TotalSeconds} s.\n{Describe()}");
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return DescribeLocked();
        }
    }

    private string DescribeLocked()
    {
        var text = new StringBuilder();
        text.Append("--- ").Append(Name).Append(" (").Append(_lines.Count).AppendLine(" lines) ---");
        foreach (var line in _lines)
        {
            text.AppendLine(line);
        }

        text.Append("--- end of ").Append(Name).Append(" ---");
        return text.ToString();
    }
}
