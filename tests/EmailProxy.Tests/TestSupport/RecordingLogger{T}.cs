using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.TestSupport;

/// <summary>A <see cref="RecordingLogger"/> for a type's category, where an <see cref="ILogger{T}"/> is asked for.</summary>
internal sealed class RecordingLogger<T>(RecordingLoggerProvider provider) : RecordingLogger(typeof(T).FullName ?? typeof(T).Name, provider), ILogger<T>;
