using System.Collections.Concurrent;
using EmailProxy.Accounts;

namespace EmailProxy.Diagnostics;

/// <summary>
/// What the status page tells of each account's mail logins and nothing else records: the last
/// successful login per protocol and the last failed one (its text and time). Written where a
/// session's login ends (next to the <c>logins</c> metric), read by the status page. Only logins
/// that reached a configured account are kept, so it holds at most one entry per account, whatever
/// names clients type. Each entry is an immutable <see cref="AccountActivityEntry"/>, replaced whole.
/// </summary>
internal sealed class AccountActivity(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, AccountActivityEntry> _entries = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Records a finished login of <paramref name="protocol"/>. A login whose name is no account
    /// (<see cref="LoginOutcome.Account"/> null) is not kept: the entries stay bounded by the configuration.
    /// The failure's text is the log's (it says which of name and password was wrong, which the operator may know).
    /// </summary>
    public void Login(string protocol, LoginOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Account is not { } account)
        {
            return;
        }
        var now = time.GetUtcNow();
        _entries.AddOrUpdate(account.Name,
            static (_, args) => args.Empty.With(args.Protocol, args.Outcome, args.Now),
            static (_, old, args) => old.With(args.Protocol, args.Outcome, args.Now),
            (Empty: AccountActivityEntry.None, Protocol: protocol, Outcome: outcome, Now: now));
    }

    /// <summary>
    /// Records an error the upstream gave after an accepted login (Exchange's Send As refusal, seen in the SMTP relay by
    /// <see cref="Smtp.SmtpReplyWatcher"/>) as the account's last error, with the proxy's fix for it; the next successful
    /// login of <paramref name="protocol"/> clears it as it clears a failed login.
    /// </summary>
    /// <param name="error">What happened, with the upstream's own words (sanitised; it holds no secret).</param>
    public void AfterLoginError(string accountName, string protocol, string error, string fix)
    {
        var now = time.GetUtcNow();
        _entries.AddOrUpdate(accountName,
            static (_, args) => args.Empty.WithAfterLoginError(args.Protocol, args.Error, args.Fix, args.Now),
            static (_, old, args) => old.WithAfterLoginError(args.Protocol, args.Error, args.Fix, args.Now),
            (Empty: AccountActivityEntry.None, Protocol: protocol, Error: error, Fix: fix, Now: now));
    }

    /// <summary>The account's entry; <see cref="AccountActivityEntry.None"/> when no login reached it since the start.</summary>
    public AccountActivityEntry Of(string accountName) => _entries.GetValueOrDefault(accountName, AccountActivityEntry.None);
}
