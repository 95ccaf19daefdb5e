using System.Collections.Concurrent;

namespace EmailProxy.Accounts;

/// <summary>
/// The generated passwords (<see cref="GeneratedPassword"/>) of template accounts whose sign-in ended where nobody
/// could be shown them: a device code entered on another device for a sign-in a mail client's login started, or the
/// status page's "Show device code". Held in memory only, by account, until someone takes one: the status page's
/// "Show the password" button (behind admin_password where it is set) shows it once, and a sign-in that ends while
/// one still waits makes a new password instead (nobody knows the old one), which <c>emailproxy auth</c> prints.
/// The same object the sign-in's completion carries: taken on any path, it is gone on every other.
/// </summary>
internal sealed class UnshownPasswords
{
    private readonly ConcurrentDictionary<string, GeneratedPassword> _byAccount = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Keeps the password of the account's sign-in that just ended; one it held before is dropped (a newer one replaced it).</summary>
    public void Hold(string accountName, GeneratedPassword password)
    {
        var replaced = _byAccount.GetValueOrDefault(accountName);
        _byAccount[accountName] = password;
        if (replaced is not null && !ReferenceEquals(replaced, password))
        {
            replaced.Take();
        }
    }

    /// <summary>Whether the account has a password that nobody has been shown yet.</summary>
    public bool IsWaiting(string accountName) => _byAccount.TryGetValue(accountName, out var password) && !password.Taken;

    /// <summary>The account's password not shown yet, this once; null when there is none (never made, shown already, or replaced).</summary>
    public string? Take(string accountName) => _byAccount.TryRemove(accountName, out var password) ? password.Take() : null;

    public override string ToString() => $"UnshownPasswords {{ Count = {_byAccount.Count} }}";
}
