using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// The log lines every protocol's sessions share (event ids 1000–1099). Every client-chosen value
/// in them (a login name, a reason that quotes one) has been through <see cref="ClientText.Sanitize"/>.
/// A session's end is two lines: <see cref="PreLoginPeak"/> (Debug) then <see cref="SessionEnded"/>.
/// </summary>
internal static partial class SessionLog
{
    /// <summary>
    /// A session's one summary line. Information, except for a session that ended before a login
    /// while its address was past its lines for the minute in <see cref="FailedLoginLog"/> (a
    /// guesser whose failures were all left out, or a client refused or closed before any login):
    /// Debug, so that new connections cannot flood the log either.
    /// </summary>
    [LoggerMessage(EventId = 1001, EventName = "SessionEnded",
        Message = "{Protocol} session from {Client} for account {Account} ended: {Result}; {BytesFromClient} bytes from the client, {BytesToClient} bytes to it, {DurationMs} ms")]
    public static partial void SessionEnded(ILogger logger, LogLevel level, string protocol, string client, string account, string result, long bytesFromClient, long bytesToClient, long durationMs);

    /// <summary>
    /// At a session's end (just before <see cref="SessionEnded"/>): the most bytes of one pre-login
    /// command its reader held at once, and that reader's limit. IMAP: the command reader's
    /// <c>PeakHeldBytes</c> (tokens and the line being read, literals included), over every reader
    /// of the session (STARTTLS starts a new one). SMTP and POP3: the longest line copied out of
    /// the pipe (a SASL response included); a longer one is refused before it is copied. Tests read
    /// it to check that no client made a reader hold more than its limit.
    /// </summary>
    [LoggerMessage(EventId = 1006, EventName = "PreLoginPeak", Level = LogLevel.Debug,
        Message = "{Protocol} session from {Client}: pre-login peak {PeakBytes} bytes held of {LimitBytes} allowed")]
    public static partial void PreLoginPeak(ILogger logger, string protocol, string client, long peakBytes, long limitBytes);

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
