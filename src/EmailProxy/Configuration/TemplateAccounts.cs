using EmailProxy.Connections;

namespace EmailProxy.Configuration;

/// <summary>
/// The accounts made from templates (<see cref="AccountTemplate"/>) for the login names that came, kept
/// in memory for the life of the process: one object, handed from each configuration to the next by a
/// reload (<see cref="ConfigChanges.Pin"/>), so that an account made stays made whatever the reload
/// changes, while its keys always come from the template in effect (<see cref="ProxyConfig.FindAccount"/>).
/// At start the accounts whose token files are there are made again (<see cref="Restore"/>).
/// </summary>
/// <remarks>
/// A login that makes an account only starts its sign-in: until that sign-in ends with tokens the account
/// is tentative, and a tentative account older than <see cref="TentativeLifetime"/> (a sign-in's life)
/// gives its place back when a template is full, so that login names tried by someone who cannot sign
/// in never use up <see cref="AccountTemplate.MaxAccounts"/> for good. A signed-in account (or one whose
/// token file was there at start) is kept.
/// </remarks>
internal sealed class TemplateAccounts
{
    /// <summary>How long an account made by a login waits for its first sign-in before a full template may drop it.</summary>
    public static readonly TimeSpan TentativeLifetime = TimeSpan.FromMinutes(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether an account was made for the login name (tentative or kept).</summary>
    public bool Contains(string loginName)
    {
        lock (_gate)
        {
            return _entries.ContainsKey(loginName);
        }
    }

    /// <summary>The names of the accounts made, in no particular order.</summary>
    public IReadOnlyList<string> Names()
    {
        lock (_gate)
        {
            return [.. _entries.Keys];
        }
    }

    /// <summary>
    /// Makes an account for <paramref name="loginName"/> from <paramref name="template"/> (or finds the one made):
    /// null when it was made, else why not (one line for the client): the name cannot name an account (its token
    /// file), it cannot be told apart from another account, or the template has made <see cref="AccountTemplate.MaxAccounts"/>.
    /// </summary>
    /// <param name="explicitNames">The accounts named in the file, which a made name must not be confused with.</param>
    public string? TryMake(AccountTemplate template, string loginName, IEnumerable<string> explicitNames, DateTimeOffset now)
    {
        var shown = ClientText.Sanitize(loginName);
        if (AccountNameRules.Problem(loginName) is { } problem)
        {
            return $"The login name '{shown}' matches the template [{template.Section}] but cannot be an account's name ({problem}): nothing was made; log in with your plain address";
        }
        if (explicitNames.FirstOrDefault(other => AccountNameRules.Conflict(loginName, other) is not null) is { } named)
        {
            return $"The login name '{shown}' cannot be told apart from the account [account {ClientText.Sanitize(named)}] ({AccountNameRules.Conflict(loginName, named)}): nothing was made";
        }
        lock (_gate)
        {
            if (_entries.ContainsKey(loginName))
            {
                return null;
            }
            if (_entries.Keys.FirstOrDefault(other => AccountNameRules.Conflict(loginName, other) is not null) is { } made)
            {
                return $"The login name '{shown}' cannot be told apart from the account '{ClientText.Sanitize(made)}' made from a template ({AccountNameRules.Conflict(loginName, made)}): nothing was made";
            }
            if (CountOf(template) >= template.MaxAccounts)
            {
                // Tentative accounts past their sign-in's life give their places back first.
                foreach (var (stale, entry) in _entries.Where(entry => !entry.Value.Kept && now - entry.Value.MadeAt >= TentativeLifetime).ToList())
                {
                    _entries.Remove(stale);
                    if (string.Equals(entry.Pattern, template.Pattern, StringComparison.OrdinalIgnoreCase))
                    {
                        // Else every name ever tried would stay in memory, max_accounts more every TentativeLifetime.
                        template.Forget(stale);
                    }
                }
                if (CountOf(template) >= template.MaxAccounts)
                {
                    return $"No account is made for '{shown}': the template [{template.Section}] has made as many as its max_accounts = {template.MaxAccounts} allows; the proxy's administrator can raise max_accounts";
                }
            }
            _entries.Add(loginName, new Entry(template.Pattern, now, Kept: false));
            return null;
        }
    }

    /// <summary>
    /// The account signed in: it stays whatever other login names come. Made again (kept) when a full template gave its
    /// place away while its sign-in was under way, if <paramref name="pattern"/> (its template) is given: it has tokens now.
    /// </summary>
    public void Keep(string loginName, string? pattern = null)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(loginName, out var entry))
            {
                _entries[loginName] = entry with { Kept = true };
            }
            else if (pattern is not null)
            {
                _entries.Add(loginName, new Entry(pattern, DateTimeOffset.MinValue, Kept: true));
            }
        }
    }

    /// <summary>
    /// Makes again the accounts whose token files are there (<paramref name="storedNames"/>, the account names the files
    /// say), each from the first template of <paramref name="config"/> that matches it and not named in the file; kept,
    /// past max_accounts too (they were made before). Returns the names restored.
    /// </summary>
    public IReadOnlyList<string> Restore(ProxyConfig config, IEnumerable<string> storedNames, DateTimeOffset now)
    {
        var restored = new List<string>();
        lock (_gate)
        {
            foreach (var name in storedNames)
            {
                if (config.Accounts.ContainsKey(name) || _entries.ContainsKey(name) || AccountNameRules.Problem(name) is not null
                    || config.TemplateFor(name) is not { } template)
                {
                    continue;
                }
                _entries.Add(name, new Entry(template.Pattern, now, Kept: true));
                restored.Add(name);
            }
        }
        return restored;
    }

    /// <summary>Forgets a made account (its tokens were cleared): the next login for it makes it again.</summary>
    public void Remove(string loginName)
    {
        lock (_gate)
        {
            _entries.Remove(loginName);
        }
    }

    /// <summary>How many accounts the template has made (called under the gate).</summary>
    private int CountOf(AccountTemplate template) =>
        _entries.Values.Count(entry => string.Equals(entry.Pattern, template.Pattern, StringComparison.OrdinalIgnoreCase));

    private sealed record Entry(string Pattern, DateTimeOffset MadeAt, bool Kept);
}
