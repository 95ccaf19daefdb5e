using EmailProxy.Configuration;
using EmailProxy.Upstream;

namespace EmailProxy.Accounts;

/// <summary>
/// The end of a client's login: the authenticated upstream, or a failure whose
/// <see cref="Message"/> names the account, the cause and the fix (shown to the client as is).
/// </summary>
internal sealed record LoginOutcome(LoginFailure Failure, string Message, AccountOptions? Account, UpstreamLoginResult? Upstream)
{
    private readonly string? _logReason;

    public bool Succeeded => Failure == LoginFailure.None;

    /// <summary>A failure that is the proxy's or the network's, not the credentials' (IMAP UNAVAILABLE, SMTP 454, POP SYS/TEMP).</summary>
    public bool IsTemporary => Failure is LoginFailure.Unavailable or LoginFailure.TokenUnavailable;

    /// <summary>
    /// The failure as the log tells it: <see cref="Message"/> unless the client must be told less
    /// (where passwords are checked, an unknown login name and a wrong password read the same to
    /// the client; the log says which).
    /// </summary>
    public string LogReason
    {
        get => _logReason ?? Message;
        init => _logReason = value;
    }

    public static LoginOutcome Success(AccountOptions account, UpstreamLoginResult upstream) => new(LoginFailure.None, "", account, upstream);

    public static LoginOutcome Fail(LoginFailure failure, string message, AccountOptions? account = null, string? logReason = null) =>
        logReason is null ? new(failure, message, account, null) : new(failure, message, account, null) { LogReason = logReason };

    public override string ToString() => $"LoginOutcome {{ Failure = {Failure}, Account = {Account?.Name} }}";
}
