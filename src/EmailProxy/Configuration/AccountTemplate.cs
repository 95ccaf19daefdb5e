using System.Collections.Concurrent;
using System.IO.Enumeration;

namespace EmailProxy.Configuration;

/// <summary>
/// An <c>[account PATTERN]</c> section whose name holds <c>*</c> or <c>?</c>: every login name the
/// pattern matches (a glob, case-insensitive; <c>*</c> any run of characters, <c>?</c> one) may become
/// an account of its own, with <c>username</c> = the login name, its own sign-in and token file, and
/// every other key of the section. At most <see cref="MaxAccounts"/> are made from it
/// (<see cref="TemplateAccounts"/> keeps them). Accounts named in the file win over templates, and of
/// several templates that match one name, the first in the file wins.
/// </summary>
internal sealed class AccountTemplate
{
    /// <summary>How many accounts a template makes unless <c>max_accounts</c> says otherwise.</summary>
    public const int DefaultMaxAccounts = 100;

    /// <summary>The largest <c>max_accounts</c> accepted.</summary>
    public const int MaxMaxAccounts = 100_000;

    private readonly ConcurrentDictionary<string, AccountOptions> _made = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="options">The section as an account named <paramref name="pattern"/>: what each account made from it inherits.</param>
    public AccountTemplate(string pattern, AccountOptions options, int maxAccounts)
    {
        Pattern = pattern;
        Options = options;
        MaxAccounts = maxAccounts;
    }

    public string Pattern { get; }

    /// <summary>The section's keys, as an account named by the pattern.</summary>
    public AccountOptions Options { get; }

    public int MaxAccounts { get; }

    /// <summary>The section's name as the file writes it (<c>account *@contoso.com</c>).</summary>
    public string Section => $"{ConfigKeys.AccountSection} {Pattern}";

    /// <summary>Whether a section name is a template's (it holds <c>*</c> or <c>?</c>).</summary>
    public static bool IsPattern(string name) => name.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>Whether the login name matches the pattern (the whole name, case-insensitive).</summary>
    public bool Matches(string loginName) => FileSystemName.MatchesSimpleExpression(Pattern, loginName, ignoreCase: true);

    /// <summary>The account for a login name the pattern matches: the template's keys, the name as login name and username. The same object for one name.</summary>
    public AccountOptions AccountFor(string loginName) =>
        _made.GetOrAdd(loginName, static (name, options) => options with { Name = name, Username = name, Template = options.Name }, Options);

    /// <summary>How many accounts this template holds made (for the tests: the ones given back are forgotten).</summary>
    internal int MadeCount => _made.Count;

    /// <summary>Forgets the account made for a login name that gave its place back (a sign-in never completed).</summary>
    public void Forget(string loginName) => _made.TryRemove(loginName, out _);

    /// <summary>Whether two templates would make the same accounts (a reload that leaves one unchanged keeps its accounts as they are).</summary>
    public bool SameAs(AccountTemplate other) =>
        string.Equals(Pattern, other.Pattern, StringComparison.OrdinalIgnoreCase)
        && MaxAccounts == other.MaxAccounts
        && ConfigChanges.SameAccount(Options, other.Options);

    public override string ToString() => $"AccountTemplate {{ Pattern = {Pattern}, MaxAccounts = {MaxAccounts} }}";
}
