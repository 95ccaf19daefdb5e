using System.Collections.Concurrent;
using EmailProxy.Configuration;

namespace EmailProxy.Graph;

/// <summary>
/// What the status page and <c>tokens show</c> tell of Graph per account: the last Graph send (when,
/// its result), the last throttling (until when), and whether <c>smtp_via = auto</c> switched the
/// account to Graph (remembered in memory for the life of the process: after a restart the first
/// 5.7.139 switches it again, which costs one refused SMTP login).
/// </summary>
internal sealed class GraphActivity(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, GraphAccountActivity> _accounts = new(StringComparer.OrdinalIgnoreCase);

    public GraphAccountActivity? Of(string account) => _accounts.TryGetValue(account, out var activity) ? activity : null;

    /// <summary>Whether the account sends through Graph now: <c>graph</c>, or <c>auto</c> after a switch.</summary>
    public bool UsesGraph(AccountOptions account) =>
        account.SmtpVia == SmtpVia.Graph || (account.SmtpVia == SmtpVia.Auto && Of(account.Name)?.SwitchedAt is not null);

    /// <summary>Records the switch of an <c>auto</c> account; true the first time (the caller logs it once).</summary>
    public bool Switch(string account, string reason)
    {
        var switched = false;
        _accounts.AddOrUpdate(account,
            _ => { switched = true; return new GraphAccountActivity { SwitchedAt = time.GetUtcNow(), SwitchReason = reason }; },
            (_, current) =>
            {
                if (current.SwitchedAt is not null)
                {
                    return current;
                }
                switched = true;
                return current with { SwitchedAt = time.GetUtcNow(), SwitchReason = reason };
            });
        return switched;
    }

    public void Sent(string account, string result, TimeSpan? throttledFor)
    {
        var now = time.GetUtcNow();
        _accounts.AddOrUpdate(account,
            _ => new GraphAccountActivity { LastSendAt = now, LastResult = result, ThrottledUntil = now + throttledFor },
            (_, current) => current with { LastSendAt = now, LastResult = result, ThrottledUntil = throttledFor is null ? current.ThrottledUntil : now + throttledFor });
    }
}
