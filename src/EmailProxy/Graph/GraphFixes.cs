using EmailProxy.Configuration;

namespace EmailProxy.Graph;

/// <summary>What an administrator does when Graph refuses an account's sending, in words (client replies, log lines, <c>check</c>).</summary>
internal static class GraphFixes
{
    /// <summary>The permission the app registration needs for this account's flow.</summary>
    public static string Permission(AccountOptions account) => account.Flow == OAuthFlow.ClientCredentials
        ? $"The app registration ({account.ClientId}) needs the Microsoft Graph application permission Mail.Send with admin consent, and an application access policy (New-ApplicationAccessPolicy -AccessRight RestrictAccess) that lets it send as {account.Username}."
        : $"The app registration ({account.ClientId}) needs the Microsoft Graph delegated permission {(GraphScopes.For(account, null).EndsWith("/Mail.Send.Shared", StringComparison.OrdinalIgnoreCase) ? "Mail.Send.Shared" : "Mail.Send")} (with admin consent where users may not consent), then sign in to account {account.Name} again so that the consent covers it.";

    /// <summary>The mailbox may not send as the message's From.</summary>
    public static string SendAs(AccountOptions account) =>
        $"The mailbox {account.Username} may not send as this From address: grant it Send As (Add-RecipientPermission -Identity <from> -Trustee {account.Username} -AccessRights SendAs) or send from {account.Username}.";

    /// <summary>What <c>emailproxy check</c> says of an account that sends (or may send) through Graph.</summary>
    public static string CheckNote(AccountOptions account) =>
        $"smtp_via = {(account.SmtpVia == SmtpVia.Graph ? "graph" : "auto")}: {(account.SmtpVia == SmtpVia.Graph ? "its mail is sent" : "after Exchange refuses SMTP AUTH (5.7.139) its mail is sent")} through Microsoft Graph at {account.GraphUrl.GetLeftPart(UriPartial.Authority)} "
        + $"with {(account.Flow == OAuthFlow.ClientCredentials ? "an app-only token" : "a second token redeemed from the sign-in's refresh token")} for {account.GraphScope ?? (account.Flow == OAuthFlow.ClientCredentials ? GraphScopes.For(account, null) : $"{GraphScopes.For(account, null)} (Mail.Send.Shared when someone else signs in)")}. "
        + Permission(account)
        + (account.Flow == OAuthFlow.ClientCredentials ? "" : " The proxy adds the Graph scope to the sign-in itself: do not put it in scope (one token serves one resource).");
}
