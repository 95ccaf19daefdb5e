using System.Collections.Immutable;
using EmailProxy.Accounts;

namespace EmailProxy.Diagnostics;

/// <summary>One account's mail-login activity since the start (<see cref="AccountActivity"/>); immutable.</summary>
/// <param name="LastLogins">The time of the last successful login, per protocol name (<c>IMAP</c>, <c>SMTP</c>, <c>POP3</c>).</param>
/// <param name="LastError">The last failed login's text (cause and fix), or null when none failed since the last success.</param>
internal sealed record AccountActivityEntry(
    ImmutableSortedDictionary<string, DateTimeOffset> LastLogins,
    string? LastError,
    LoginFailure LastFailure,
    string? LastErrorProtocol,
    DateTimeOffset? LastErrorAt)
{
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
            return this with { LastError = outcome.LogReason, LastFailure = outcome.Failure, LastErrorProtocol = protocol, LastErrorAt = now };
        }
        var logins = LastLogins.SetItem(protocol, now);
        return LastErrorProtocol == protocol
            ? this with { LastLogins = logins, LastError = null, LastFailure = LoginFailure.None, LastErrorProtocol = null, LastErrorAt = null }
            : this with { LastLogins = logins };
    }
}
