using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// Keeps every log entry at <paramref name="minimum"/> or above that its loggers are given, and lets
/// a test wait for one without a fixed delay. At Error it shows what must never be logged on bad
/// input; at Trace, everything, to look for secrets.
/// </summary>
internal sealed class RecordingLoggerProvider(LogLevel minimum = LogLevel.Trace) : ILoggerProvider
{
    private readonly List<RecordedLog> _entries = [];
    private readonly List<(Func<RecordedLog, bool> Match, TaskCompletionSource<RecordedLog> Found)> _waiters = [];

    public LogLevel Minimum { get; } = minimum;

    public IReadOnlyList<RecordedLog> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Every entry's <see cref="RecordedLog.Line"/>.</summary>
    public IReadOnlyList<string> Lines => [.. Entries.Select(e => e.Line)];

    public ILogger CreateLogger(string categoryName) => new RecordingLogger(categoryName, this);

    public ILogger<T> CreateLogger<T>() => new RecordingLogger<T>(this);

    /// <summary>Completes with the first entry (already recorded or to come) that matches.</summary>
    public Task<RecordedLog> WaitForAsync(Func<RecordedLog, bool> match)
    {
        lock (_entries)
        {
            var found = _entries.FirstOrDefault(match);
            if (found is not null)
            {
                return Task.FromResult(found);
            }
            var waiter = new TaskCompletionSource<RecordedLog>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, waiter));
            return waiter.Task;
        }
    }

    public void Add(RecordedLog entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
            foreach (var waiter in _waiters.Where(w => w.Match(entry)).ToList())
            {
                waiter.Found.TrySetResult(entry);
                _waiters.Remove(waiter);
            }
        }
    }

    public void Dispose()
    {
    }
}
