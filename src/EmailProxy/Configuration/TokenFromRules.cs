using Keys = EmailProxy.Configuration.ConfigKeys.Account;

namespace EmailProxy.Configuration;

/// <summary>
/// <c>token_from = ACCOUNT</c>: an account (a shared mailbox) that uses another account's sign-in (the
/// delegate's) and logs in upstream as its own username with the delegate's token. One hop only: the
/// account named must sign in itself (a chain a → b → c is refused, naming c, as is a loop), it must be
/// an account of the file (not a template), and neither side may be app-only (client credentials signs
/// nobody in: each mailbox gets its own account with the same app instead). The sharing account takes the
/// delegate's OAuth settings, so that what it shows (provider, flow) is what its logins use.
/// </summary>
internal static class TokenFromRules
{
    /// <summary>Checks every token_from and gives each sharing account its delegate's OAuth settings (in <paramref name="accounts"/>).</summary>
    /// <param name="sections">Each account's section name, for the problems.</param>
    public static void Resolve(Dictionary<string, AccountOptions> accounts, IReadOnlyDictionary<string, string> sections,
        IReadOnlyList<AccountTemplate> templates, ConfigProblems problems)
    {
        foreach (var (name, account) in accounts.Where(entry => entry.Value.TokenFrom is not null).ToList())
        {
            var section = sections[name];
            var target = account.TokenFrom!;
            if (Problem(name, account, target, accounts, templates) is { } problem)
            {
                problems.Error(section, Keys.TokenFrom, target, problem);
                continue;
            }
            var from = accounts[target];
            if (account.ClientId is { } ownClientId && ownClientId != from.ClientId)
            {
                problems.Warn(section, Keys.ClientId, null, $"is not used: the account signs in with the sign-in of [account {from.Name}] (token_from), whose client_id is used");
            }
            accounts[name] = account with
            {
                Provider = from.Provider,
                Cloud = from.Cloud,
                Discovery = from.Discovery,
                // Without a [server] of its own, a shared mailbox lives where its delegate's built-in upstream is (its cloud's Exchange).
                ServerName = IsBuiltIn(account.ServerName) && IsBuiltIn(from.ServerName) ? from.ServerName : account.ServerName,
                ClientId = from.ClientId,
                ClientSecret = from.ClientSecret,
                Tenant = from.Tenant,
                AuthorizeUrl = from.AuthorizeUrl,
                TokenUrl = from.TokenUrl,
                DeviceCodeUrl = from.DeviceCodeUrl,
                Scope = from.Scope,
                Flow = from.Flow,
                ClientCertificate = from.ClientCertificate,
                ClientKey = from.ClientKey,
                AllowIdentity = [],
                TokenFrom = from.Name,
            };
        }
    }

    /// <summary>Why <paramref name="name"/>'s token_from cannot be used, or null.</summary>
    private static string? Problem(string name, AccountOptions account, string target, Dictionary<string, AccountOptions> accounts, IReadOnlyList<AccountTemplate> templates)
    {
        if (string.Equals(target, name, StringComparison.OrdinalIgnoreCase))
        {
            return "names the account itself: token_from names the account whose sign-in this one uses (the delegate's)";
        }
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return "cannot be used with flow = client_credentials: an app-only account signs nobody in; it gets its own token with its own client_id and secret";
        }
        if (!accounts.TryGetValue(target, out var from))
        {
            return AccountTemplate.IsPattern(target) || templates.Any(template => string.Equals(template.Pattern, target, StringComparison.OrdinalIgnoreCase))
                ? "names a template: token_from must name an [account NAME] section of the file (the delegate who signs in)"
                : $"there is no [account {target}] section";
        }
        if (from.TokenFrom is { } further)
        {
            return string.Equals(further, name, StringComparison.OrdinalIgnoreCase)
                ? $"is a loop: [account {name}] uses the sign-in of [account {from.Name}], which uses the sign-in of [account {name}]; one of them must sign in itself (remove its token_from)"
                : $"is a chain: [account {from.Name}] uses the sign-in of [account {further}] itself; token_from takes one hop only: write token_from = {further}";
        }
        if (from.Flow == OAuthFlow.ClientCredentials)
        {
            return $"names [account {from.Name}], which is app-only (flow = client_credentials) and has no sign-in to share: give this mailbox its own app-only account with the same client_id and secret";
        }
        return null;
    }

    private static bool IsBuiltIn(string serverName) => Providers.ProviderEndpoints.FindBuiltInUpstream(serverName) is not null;
}
