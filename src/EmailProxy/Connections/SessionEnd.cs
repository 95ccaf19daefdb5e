namespace EmailProxy.Connections;

/// <summary>Why a session ends before a login, each with the protocol's own last line.</summary>
internal enum SessionEnd
{
    /// <summary>A line or literal past the limits.</summary>
    Limit,

    /// <summary>No login within <see cref="MailSession.LoginTimeout"/>.</summary>
    TimedOut,

    /// <summary>The proxy is stopping.</summary>
    ShuttingDown,
}
