using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Hosting;

/// <summary>One entry a <see cref="RecordingLoggerProvider"/> received.</summary>
internal sealed record RecordedLog(string Category, LogLevel Level, EventId EventId, Exception? Exception, string Message);
