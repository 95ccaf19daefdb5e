using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>The log lines every protocol's sessions share (event ids 1000–1099).</summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 1001, EventName = "SessionEnded", Level = LogLevel.Information,
        Message = "{Protocol} session from {Client} for account {Account} ended: {Result}; {BytesFromClient} bytes from the client, {BytesToClient} bytes to it, {DurationMs} ms")]
    public static partial void SessionEnded(ILogger logger, string protocol, string client, string account, string result, long bytesFromClient, long bytesToClient, long durationMs);

    [LoggerMessage(EventId = 1002, EventName = "LoginSucceeded", Level = LogLevel.Debug,
        Message = "{Protocol} login from {Client} as {Account} accepted by {Upstream}")]
    public static partial void LoginSucceeded(ILogger logger, string protocol, string client, string account, string upstream);

    [LoggerMessage(EventId = 1003, EventName = "LoginFailed", Level = LogLevel.Warning,
        Message = "{Protocol} login from {Client} as {Account} failed: {Reason}")]
    public static partial void LoginFailed(ILogger logger, string protocol, string client, string account, string reason);

    [LoggerMessage(EventId = 1004, EventName = "ClientCommand", Level = LogLevel.Trace,
        Message = "{Protocol} {Client} sent {Command}")]
    private static partial void LogClientCommand(ILogger logger, string protocol, string client, string command);

    /// <summary>
    /// Logs a command's name, and only when it is one the protocol knows: a client that sends its
    /// password where a command belongs (a base64 AUTH LOGIN line after a refused AUTH) must not
    /// have it logged. Tags are client-chosen text and are never logged either.
    /// </summary>
    public static void ClientCommand(ILogger logger, string protocol, string client, string command, IReadOnlySet<string> known)
    {
        if (logger.IsEnabled(LogLevel.Trace))
        {
            LogClientCommand(logger, protocol, client, known.Contains(command) ? command : "<other>");
        }
    }

    [LoggerMessage(EventId = 1005, EventName = "SessionFailed", Level = LogLevel.Error,
        Message = "{Protocol} session from {Client} failed unexpectedly")]
    public static partial void SessionFailed(ILogger logger, Exception exception, string protocol, string client);
}
