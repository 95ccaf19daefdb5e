namespace EmailProxy.Connections;

/// <summary>Why a session ends before a login, each with the protocol's own last line.</summary>
internal enum SessionEnd
{
    /// <summary>A line or literal past the limits, too many bad commands, or too many failed logins.</summary>
    Limit,

    /// <summary>No login within <see cref="MailSession.LoginTimeout"/>.</summary>
    TimedOut,

    /// <summary>No new login within <see cref="MailSession.RetryWindow"/> of a failed one.</summary>
    RetryTimedOut,

    /// <summary>A line looked like an HTTP request (<see cref="CrossProtocol.LooksLikeHttp(ReadOnlySpan{byte})"/>).</summary>
    CrossProtocol,

    /// <summary>The proxy is stopping.</summary>
    ShuttingDown,
}
