using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>The host's logger behind <see cref="BindFailureLogFilter"/>: everything but the reported bind failure.</summary>
internal sealed class BindFailureLogFilterLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!BindFailureLogFilter.IsReportedBindFailure(eventId, exception))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
