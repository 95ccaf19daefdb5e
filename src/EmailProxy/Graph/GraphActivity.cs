using System.Collections.Concurrent;
using EmailProxy.Configuration;

namespace EmailProxy.Graph;

/// <summary>
/// What the status page and <c>tokens show</c> tell of Graph per account: the last Graph send (when,
/// its result), the last throttling (until when), and whether <c>smtp_via = auto</c> switched the
/// account to Graph: kept in memory and, beside the token file (<see cref="GraphSwitchFile"/>), across restarts.
/// </summary>
/// <param name="tokenDirectory">Where the switch marks are kept; none when null (tests that do not look at them).</param>
internal sealed class GraphActivity(TimeProvider time, Func<string>? tokenDirectory = null)
{
    private readonly ConcurrentDictionary<string, GraphAccountActivity> _accounts = new(StringComparer.OrdinalIgnoreCase);

    public GraphAccountActivity? Of(string account) => _accounts.TryGetValue(account, out var activity) ? activity : null;

    /// <summary>Whether the account sends through Graph now: <c>graph</c>, or <c>auto</c> after a switch (this run's or a mark's).</summary>
    public bool UsesGraph(AccountOptions account) => account.SmtpVia switch
    {
        SmtpVia.Graph => true,
        SmtpVia.Auto => Loaded(account.Name).SwitchedAt is not null,
        _ => false,
    };

    /// <summary>Records the switch of an <c>auto</c> account; true the first time (the caller logs it once). The mark is written then.</summary>
    public bool Switch(string account, string reason)
    {
        var switched = false;
        var now = time.GetUtcNow();
        _accounts.AddOrUpdate(account,
            _ => { switched = true; return new GraphAccountActivity { SwitchedAt = now, SwitchReason = reason, MarkRead = true }; },
            (_, current) =>
            {
                if (current.SwitchedAt is not null)
                {
                    return current;
                }
                switched = true;
                return current with { SwitchedAt = now, SwitchReason = reason, MarkRead = true };
            });
        if (switched && tokenDirectory is not null)
        {
            GraphSwitchFile.Write(tokenDirectory(), account, now, reason);
        }
        return switched;
    }

    public void Sent(string account, string result, TimeSpan? throttledFor)
    {
        var now = time.GetUtcNow();
        _accounts.AddOrUpdate(account,
            _ => new GraphAccountActivity { LastSendAt = now, LastResult = result, ThrottledUntil = now + throttledFor },
            (_, current) => current with { LastSendAt = now, LastResult = result, ThrottledUntil = throttledFor is null ? current.ThrottledUntil : now + throttledFor });
    }

    /// <summary>The account's activity with its switch mark read once from disk.</summary>
    private GraphAccountActivity Loaded(string account)
    {
        if (Of(account) is { MarkRead: true } known || tokenDirectory is null)
        {
            return Of(account) ?? new GraphAccountActivity();
        }
        var mark = GraphSwitchFile.Read(tokenDirectory(), account);
        return _accounts.AddOrUpdate(account,
            _ => new GraphAccountActivity { MarkRead = true, SwitchedAt = mark?.At, SwitchReason = mark?.Reason },
            (_, current) => current.SwitchedAt is not null ? current with { MarkRead = true } : current with { MarkRead = true, SwitchedAt = mark?.At, SwitchReason = mark?.Reason });
    }

    /// <summary>How the SMTP front sends this account's mail, in words (status page, <c>tokens show</c>).</summary>
    public static string SendsThrough(AccountOptions account, DateTimeOffset? switchedAt) => account.SmtpVia switch
    {
        SmtpVia.Graph => "Microsoft Graph (smtp_via = graph)",
        SmtpVia.Auto when switchedAt is { } at => $"Microsoft Graph since {at.UtcDateTime:yyyy-MM-dd HH:mm} UTC (smtp_via = auto: Exchange refused SMTP AUTH with 5.7.139)",
        SmtpVia.Auto => "SMTP, switching to Microsoft Graph if Exchange answers 5.7.139 (smtp_via = auto)",
        _ => "SMTP",
    };
}
