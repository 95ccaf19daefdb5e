using EmailProxy.Configuration;
using EmailProxy.Upstream;

namespace EmailProxy.Accounts;

/// <summary>
/// The end of a client's login: the authenticated upstream, or a failure whose
/// <see cref="Message"/> names the account, the cause and the fix (shown to the client as is).
/// </summary>
internal sealed record LoginOutcome(LoginFailure Failure, string Message, AccountOptions? Account, UpstreamLoginResult? Upstream)
{
    public bool Succeeded => Failure == LoginFailure.None;

    /// <summary>A failure that is the proxy's or the network's, not the credentials' (IMAP UNAVAILABLE, SMTP 454, POP SYS/TEMP).</summary>
    public bool IsTemporary => Failure is LoginFailure.Unavailable or LoginFailure.TokenUnavailable;

    public static LoginOutcome Success(AccountOptions account, UpstreamLoginResult upstream) => new(LoginFailure.None, "", account, upstream);

    public static LoginOutcome Fail(LoginFailure failure, string message, AccountOptions? account = null) => new(failure, message, account, null);

    public override string ToString() => $"LoginOutcome {{ Failure = {Failure}, Account = {Account?.Name} }}";
}
