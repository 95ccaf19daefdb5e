using Keys = EmailProxy.Configuration.ConfigKeys.Account;

namespace EmailProxy.Configuration;

/// <summary>
/// Reads an <c>[account PATTERN]</c> template (<see cref="AccountTemplate"/>): the keys of an account
/// (<see cref="AccountSectionReader"/>), less those that belong to each account it makes, plus <c>max_accounts</c>.
/// </summary>
internal static class AccountTemplateReader
{
    /// <summary>The template, or null when the section has errors (they are in the problems). The pattern itself is checked by the caller (<see cref="AccountNameRules.Problem"/>).</summary>
    public static AccountTemplate? Read(SectionReader section, string pattern, IReadOnlyDictionary<string, ServerOptions> servers)
    {
        var errorsBefore = section.ErrorCount;
        if (section.Text(Keys.Username) is not null)
        {
            section.Error(Keys.Username, null, "cannot be set in a template: each account it makes has its login name as username");
        }
        if (section.Text(Keys.PasswordHash) is not null)
        {
            // Never the value.
            section.Error(Keys.PasswordHash, null,
                "cannot be set in a template: each account it makes gets its own password, shown once when its sign-in ends (so that knowing one password does not open a colleague's mailbox)");
        }
        if (section.Text(Keys.TokenFrom) is not null)
        {
            section.Error(Keys.TokenFrom, null, "cannot be set in a template: each account it makes signs in on its own; a shared mailbox is an [account NAME] of its own");
        }
        var max = section.Integer(Keys.MaxAccounts, 1, AccountTemplate.MaxMaxAccounts) ?? AccountTemplate.DefaultMaxAccounts;
        var options = AccountSectionReader.Read(section, pattern, servers);
        return options is null || section.ErrorCount != errorsBefore ? null : new AccountTemplate(pattern, options, max);
    }
}
