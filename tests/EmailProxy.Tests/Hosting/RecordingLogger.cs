using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Hosting;

/// <summary>A logger of one category that hands every entry to its <see cref="RecordingLoggerProvider"/>.</summary>
internal sealed class RecordingLogger(string category, RecordingLoggerProvider provider) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        provider.Add(new RecordedLog(category, logLevel, eventId, exception, formatter(state, exception)));
}
