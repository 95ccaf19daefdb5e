using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.TestSupport;

/// <summary>A logger of one category that hands every entry at its provider's minimum or above to that <see cref="RecordingLoggerProvider"/>.</summary>
internal class RecordingLogger(string category, RecordingLoggerProvider provider) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider.Minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            provider.Add(new RecordedLog(category, logLevel, eventId, exception, formatter(state, exception)));
        }
    }
}
