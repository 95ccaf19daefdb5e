using EmailProxy.Configuration;

namespace EmailProxy.Graph;

/// <summary>
/// The Microsoft Graph scope an account sends with: <c>graph_scope</c> when written; else, with
/// client credentials, <c>https://graph.microsoft.com/.default</c> (the application permission
/// <c>Mail.Send</c>, limited by an application access policy); else the delegated
/// <c>Mail.Send</c>, or <c>Mail.Send.Shared</c> when the mailbox (<c>username</c>) is not the
/// signed-in identity (a delegate sending as a shared mailbox). The constants are the global cloud's; an account of a
/// national cloud (<c>cloud</c>) asks for the same permissions of its cloud's Graph (https://graph.microsoft.us/Mail.Send, …).
/// </summary>
internal static class GraphScopes
{
    public const string Resource = "https://graph.microsoft.com";
    public const string MailSend = Resource + "/Mail.Send";
    public const string MailSendShared = Resource + "/Mail.Send.Shared";
    public const string AppDefault = Resource + "/.default";

    public static string For(AccountOptions account, string? signedInIdentity)
    {
        if (account.GraphScope is { } written)
        {
            return written;
        }
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return InCloud(account, AppDefault);
        }
        // A shared mailbox (token_from) always sends as someone else: its delegate signed in.
        var delegated = account.TokenFrom is not null
            || (signedInIdentity is not null && !signedInIdentity.Equals(account.Username, StringComparison.OrdinalIgnoreCase));
        return InCloud(account, delegated ? MailSendShared : MailSend);
    }

    /// <summary>A scope of the global cloud's Graph moved to the account's cloud's Graph resource.</summary>
    private static string InCloud(AccountOptions account, string globalScope) =>
        account.Cloud.GraphUrl.OriginalString.TrimEnd('/') + globalScope[Resource.Length..];

    /// <summary>
    /// What an interactive sign-in adds to its authorize request, so that one consent covers both
    /// audiences: the written <c>graph_scope</c>, else <c>Mail.Send</c>, and <c>Mail.Send.Shared</c>
    /// too when someone other than the mailbox may sign in (<c>allow_identity</c>).
    /// </summary>
    public static IEnumerable<string> ForAuthorize(AccountOptions account)
    {
        if (account.GraphScope is { } written)
        {
            return written.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        return account.AllowIdentity.Count > 0 ? [InCloud(account, MailSend), InCloud(account, MailSendShared)] : [InCloud(account, MailSend)];
    }

    /// <summary>The proxy's own Graph scope, which the "two resources" lint of the account's <c>scope</c> must not count.</summary>
    public static bool IsProxyGraphScope(string scope) =>
        Providers.MicrosoftCloud.All.Any(cloud =>
        {
            var resource = cloud.GraphUrl.OriginalString.TrimEnd('/');
            return scope.Equals(resource + MailSend[Resource.Length..], StringComparison.OrdinalIgnoreCase)
                || scope.Equals(resource + MailSendShared[Resource.Length..], StringComparison.OrdinalIgnoreCase);
        });
}
