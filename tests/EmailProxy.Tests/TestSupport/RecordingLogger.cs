using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// Records the messages (and exceptions) that reach a logger at <paramref name="minimum"/> or above:
/// at Error, what a session must never log on bad input; at Trace, everything, to look for secrets.
/// </summary>
internal sealed class RecordingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        var text = formatter(state, exception);
        lock (_lines)
        {
            _lines.Add(exception is null ? text : $"{text} {exception}");
        }
    }
}
