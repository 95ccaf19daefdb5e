using System.Collections.Immutable;
using EmailProxy.Accounts;

namespace EmailProxy.Diagnostics;

/// <summary>One account's mail-login activity since the start (<see cref="AccountActivity"/>); immutable.</summary>
/// <param name="LastLogins">The time of the last successful login, per protocol name (<c>IMAP</c>, <c>SMTP</c>, <c>POP3</c>).</param>
/// <param name="LastError">
/// The last failed login's text (cause and fix), or the last error after a login (<see cref="LastErrorFix"/> set), or null
/// when none since the last success.
/// </param>
internal sealed record AccountActivityEntry(
    ImmutableSortedDictionary<string, DateTimeOffset> LastLogins,
    string? LastError,
    LoginFailure LastFailure,
    string? LastErrorProtocol,
    DateTimeOffset? LastErrorAt)
{
    /// <summary>
    /// The fix for an error the upstream gave after an accepted login (<see cref="AccountActivity.AfterLoginError"/>), in
    /// the proxy's words; null for a failed login (whose fix follows from <see cref="LastFailure"/>) and when there is no error.
    /// </summary>
    public string? LastErrorFix { get; init; }

    public static AccountActivityEntry None { get; } = new(ImmutableSortedDictionary.Create<string, DateTimeOffset>(StringComparer.Ordinal), null, LoginFailure.None, null, null);

    /// <summary>
    /// This entry after a login: a success sets its protocol's time and clears an error of the same
    /// protocol (it works again; an SMTP failure stays in view however well IMAP goes); a failure replaces the error.
    /// </summary>
    public AccountActivityEntry With(string protocol, LoginOutcome outcome, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (!outcome.Succeeded)
        {
            return this with { LastError = outcome.LogReason, LastFailure = outcome.Failure, LastErrorProtocol = protocol, LastErrorAt = now, LastErrorFix = null };
        }
        var logins = LastLogins.SetItem(protocol, now);
        return LastErrorProtocol == protocol
            ? this with { LastLogins = logins, LastError = null, LastFailure = LoginFailure.None, LastErrorProtocol = null, LastErrorAt = null, LastErrorFix = null }
            : this with { LastLogins = logins };
    }

    /// <summary>This entry after an error the upstream gave after a login: it replaces the last error, with its fix.</summary>
    public AccountActivityEntry WithAfterLoginError(string protocol, string error, string fix, DateTimeOffset now) =>
        this with { LastError = error, LastFailure = LoginFailure.None, LastErrorProtocol = protocol, LastErrorAt = now, LastErrorFix = fix };
}
