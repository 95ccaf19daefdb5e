namespace EmailProxy.Diagnostics;

/// <summary>The <c>outcome</c> label of <c>sessions.ended</c>: how a mail client's session ended, in a few fixed words.</summary>
internal static class SessionOutcome
{
    /// <summary>Logged in and relayed until one side closed (or the relay broke).</summary>
    public const string Relayed = "relayed";

    /// <summary>No login: one or more failed, then the client left, went quiet or ran out of tries.</summary>
    public const string LoginFailed = "login_failed";

    /// <summary>Refused before a login: a limit (line, bad commands, connections per address), HTTP or a ClientHello on a plaintext port.</summary>
    public const string Refused = "refused";

    /// <summary>No login within the login window.</summary>
    public const string TimedOut = "timed_out";

    /// <summary>The client closed (or the connection broke) before any login.</summary>
    public const string Closed = "closed";

    /// <summary>The proxy was stopping.</summary>
    public const string ShuttingDown = "shutting_down";

    /// <summary>An unexpected error of the proxy's (logged).</summary>
    public const string Error = "error";
}
