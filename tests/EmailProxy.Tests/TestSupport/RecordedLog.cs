using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.TestSupport;

/// <summary>One entry a <see cref="RecordingLoggerProvider"/> received.</summary>
internal sealed record RecordedLog(string Category, LogLevel Level, EventId EventId, Exception? Exception, string Message)
{
    /// <summary>The message with the exception, as a console line would show both.</summary>
    public string Line => Exception is null ? Message : $"{Message} {Exception}";
}
