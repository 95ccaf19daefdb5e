using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Pop3;
using EmailProxy.Smtp;

namespace EmailProxy.Providers;

/// <summary>
/// What an administrator does about an upstream's refusal of the OAuth2 token, by provider and
/// protocol: the upstream clients pass on the server's words only, and the provider's knowledge
/// (Exchange's texts and settings, PROTOCOL-NOTES.md) lives here.
/// </summary>
internal static class ProviderErrorMapping
{
    /// <summary>The scope to use instead of a graph.microsoft.com one, as the fix in the proxy's texts (the hint here and <c>check</c>'s warning).</summary>
    public const string ExchangeMailScope = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";

    /// <summary>The hint to add to a refusal, or null when the proxy knows nothing to add.</summary>
    /// <param name="rejection">The upstream's own words (for SMTP starting with the reply code).</param>
    public static string? HintFor(AccountOptions account, MailProtocol protocol, string rejection)
    {
        if (account.ScopeTargetsGraph)
        {
            return $"The account's scope asks for graph.microsoft.com, whose tokens Exchange refuses for IMAP, POP and SMTP: set scope to {ExchangeMailScope} in [account {account.Name}] and sign in again.";
        }
        if (account.Provider == OAuthProvider.Google)
        {
            return GoogleHint(account, protocol, rejection);
        }
        if (account.Provider != OAuthProvider.Microsoft)
        {
            return null;
        }
        if (SharedMailboxHint(account, protocol, rejection) is { } shared)
        {
            return shared;
        }
        return account.Flow == OAuthFlow.ClientCredentials ? AppOnlyHint(account, protocol, rejection) : MicrosoftHint(protocol, rejection);
    }

    /// <summary>
    /// What to add to "refused its refresh token (…)" (an <c>invalid_grant</c> at a refresh), starting with "; ", or
    /// "" when the proxy knows nothing to add: Google ends every refresh token of an app whose consent screen is in
    /// "Testing" after 7 days.
    /// </summary>
    public static string RefreshRefusalHint(AccountOptions account) => account.Provider == OAuthProvider.Google
        ? "; Google revokes the refresh tokens of an OAuth app whose consent screen is still in \"Testing\" 7 days after the sign-in: "
            + "publish the app (Google Cloud console, Google Auth Platform, Audience: Publish app, \"In production\"), or make it Internal in a Workspace, then sign in again"
        : "";

    /// <summary>
    /// Gmail's refusals and what to do: IMAP or POP switched off in the person's Gmail settings, or by the Workspace
    /// administrator; a refused token (Gmail's JSON status in the challenge, "Invalid credentials", SMTP 535 5.7.8).
    /// </summary>
    private static string? GoogleHint(AccountOptions account, MailProtocol protocol, string rejection)
    {
        var name = protocol is Pop3Protocol ? "POP" : "IMAP";
        if (rejection.Contains("disabled for your domain", StringComparison.OrdinalIgnoreCase))
        {
            return $"The Google Workspace administrator has switched {name} off: in the Admin console, Apps, Google Workspace, Gmail, End User Access, turn on \"{name} access\" for the users' organizational unit (and, if it is limited to some mail clients, allow all of them).";
        }
        if (rejection.Contains("not enabled for IMAP", StringComparison.OrdinalIgnoreCase) || rejection.Contains("not enabled for POP", StringComparison.OrdinalIgnoreCase))
        {
            return $"{name} is switched off for {account.Username}: in Gmail, Settings, See all settings, Forwarding and POP/IMAP, enable {name} and save.";
        }
        var refused = protocol switch
        {
            SmtpProtocol => rejection.StartsWith("535", StringComparison.Ordinal),
            _ => rejection.Contains("\"status\":\"40", StringComparison.Ordinal) || rejection.Contains("Invalid credentials", StringComparison.OrdinalIgnoreCase) || rejection.Contains("AUTHENTICATIONFAILED", StringComparison.OrdinalIgnoreCase),
        };
        return refused
            ? $"Check that username is the Gmail or Workspace address that signed in, that the scope is {ProviderEndpoints.GoogleScope}, and, for a Workspace, that the administrator allows the OAuth app (Admin console, Security, API controls, App access control) and does not restrict Gmail's IMAP and SMTP to some mail clients."
            : null;
    }

    /// <summary>
    /// The fix for a token endpoint's refusal of a client-credentials request (the AADSTS codes an
    /// app-only account meets), or null when the proxy knows none: said to the client and in the log.
    /// </summary>
    /// <param name="errorText">The endpoint's code and description (<see cref="OAuth2.TokenEndpointResult.ErrorText"/>).</param>
    public static string? TokenRequestFix(AccountOptions account, string errorText)
    {
        var section = $"[account {account.Name}]";
        if (Has(errorText, "AADSTS7000215"))
        {
            return $"client_secret in {section} is not the secret: it must be the secret's Value (shown once, when the secret is made under Certificates & secrets of the app registration), not its Secret ID; make a new secret if the value is lost.";
        }
        if (Has(errorText, "AADSTS7000222"))
        {
            return $"The client secret has expired: make a new one in the app registration's Certificates & secrets and put its Value in client_secret in {section} (or use client_certificate and client_key, which Microsoft recommends).";
        }
        if (Has(errorText, "AADSTS700027"))
        {
            return $"Microsoft did not accept the signed client assertion: upload the certificate of client_certificate (the public .pem or .cer) to the app registration's Certificates & secrets, check that client_key is that certificate's key and that the certificate has not expired, and that this machine's clock is right.";
        }
        if (Has(errorText, "AADSTS700016"))
        {
            return $"There is no application {account.ClientId} in the directory {account.Tenant}: set client_id in {section} to the Application (client) ID and tenant to the Directory (tenant) ID shown on the app registration's Overview page.";
        }
        if (Has(errorText, "AADSTS90002"))
        {
            return $"The directory {account.Tenant} does not exist: set tenant in {section} to the Directory (tenant) ID on the app registration's Overview page, or a verified domain of that directory.";
        }
        if (Has(errorText, "AADSTS7000218"))
        {
            return $"The app registration wants the client to prove itself: set client_secret, or client_certificate and client_key, in {section}.";
        }
        if (Has(errorText, "AADSTS1002012") || Has(errorText, "AADSTS70011"))
        {
            return $"An app-only token is asked for with a .default scope: set scope in {section} to {ProviderEndpoints.MicrosoftAppOnlyScope} (or remove it).";
        }
        if (Has(errorText, "AADSTS7000112") || Has(errorText, "AADSTS500014"))
        {
            return "The application or its service principal is disabled in the directory: an administrator enables it under Enterprise applications.";
        }
        return null;
    }

    /// <summary>
    /// An app-only token refused by Exchange: Exchange knows the app only through a service principal of
    /// its own, and the app may open a mailbox only with a mailbox permission; "User is authenticated but
    /// not connected" (IMAP, POP: to the first mailbox command after an accepted login, which the upstream
    /// clients send for app-only accounts before the client is told OK) or a bare 535 (SMTP) is what Exchange
    /// says when either is missing.
    /// </summary>
    private static string? AppOnlyHint(AccountOptions account, MailProtocol protocol, string rejection)
    {
        var notConnected = rejection.Contains(Upstream.UpstreamClient.NotConnected, StringComparison.OrdinalIgnoreCase);
        if (!notConnected)
        {
            if (protocol is SmtpProtocol
                && (rejection.Contains("SmtpClientAuthentication is disabled", StringComparison.OrdinalIgnoreCase) || rejection.Contains("did not meet the criteria", StringComparison.OrdinalIgnoreCase)))
            {
                return ExchangeSmtpHint(rejection);
            }
            var refused = protocol switch
            {
                ImapProtocol => rejection.Contains("AUTHENTICATE failed", StringComparison.OrdinalIgnoreCase),
                Pop3Protocol => true,
                SmtpProtocol => rejection.StartsWith("535", StringComparison.Ordinal),
                _ => false,
            };
            if (!refused)
            {
                return null;
            }
        }
        var permission = protocol switch
        {
            Pop3Protocol => "POP.AccessAsApp",
            SmtpProtocol => "SMTP.SendAsApp",
            _ => "IMAP.AccessAsApp",
        };
        return (notConnected
                ? $"Exchange accepted the app's token but the app may not open {account.Username} (Exchange says so to the first mailbox command, which the proxy sends before it answers the login, and the proxy logged out): "
                : $"Exchange refused the app's token for {account.Username}: ")
            + $"Exchange needs a service principal for the app and a permission on the mailbox. An Exchange administrator runs, in Exchange Online PowerShell, "
            + $"New-ServicePrincipal -AppId {account.ClientId} -ObjectId <the Object ID of the enterprise application of {account.ClientId}, not of the app registration> "
            + $"and then Add-MailboxPermission -Identity {account.Username} -User <that service principal's Object ID> -AccessRights FullAccess; "
            + $"the app registration also needs the application permission {permission} of Office 365 Exchange Online with admin consent, and username must be the mailbox's address.";
    }

    /// <summary>
    /// Exchange's refusals to send as another mailbox (<c>550 5.7.60 … send as this sender</c>, <c>554 5.2.0 … SendAsDenied</c>),
    /// null for any other text: the fix is the Send As permission for whoever signed in, on the mailbox sent as.
    /// </summary>
    /// <param name="delegateIdentity">Who signed in (the delegate of a shared mailbox), when known.</param>
    public static string? SendAsFix(AccountOptions account, string reply, string? delegateIdentity = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(reply);
        if (!reply.Contains("SendAsDenied", StringComparison.OrdinalIgnoreCase)
            && !reply.Contains("send as this sender", StringComparison.OrdinalIgnoreCase)
            && !reply.Contains("not allowed to send as", StringComparison.OrdinalIgnoreCase)
            && !reply.Contains("5.7.60", StringComparison.Ordinal))
        {
            return null;
        }
        var trustee = delegateIdentity ?? (account.TokenFrom is { } from ? $"<the user who signs in for account {from}>" : "<the signed-in user>");
        return $"Exchange refused to send as the message's sender: the signed-in user needs the Send As permission on the mailbox {account.Username}. "
            + $"An Exchange administrator runs, in Exchange Online PowerShell, Add-RecipientPermission -Identity {account.Username} -Trustee {trustee} -AccessRights SendAs "
            + $"(and, to read that mailbox over IMAP, Add-MailboxPermission -Identity {account.Username} -User {trustee} -AccessRights FullAccess); it can take up to an hour to apply. "
            + $"The message's From must be {account.Username}.";
    }

    /// <summary>
    /// A shared mailbox (token_from) whose login Exchange refused: the delegate's token names the delegate, and Exchange lets it
    /// open the shared mailbox only with Full Access (IMAP, POP) or Send As (SMTP) on it.
    /// </summary>
    private static string? SharedMailboxHint(AccountOptions account, MailProtocol protocol, string rejection)
    {
        if (account.TokenFrom is not { } from)
        {
            return null;
        }
        if (protocol is SmtpProtocol)
        {
            return SendAsFix(account, rejection) ?? (rejection.StartsWith("535", StringComparison.Ordinal)
                ? $"Account {account.Name} logs in as the shared mailbox {account.Username} with the sign-in of account {from}: that user needs Send As on it (Add-RecipientPermission -Identity {account.Username} -Trustee <that user> -AccessRights SendAs) and Full Access (Add-MailboxPermission -Identity {account.Username} -User <that user> -AccessRights FullAccess), and SMTP AUTH must be enabled for the shared mailbox."
                : null);
        }
        // IMAP and POP: a token refused for the shared mailbox (it was refused twice, so it is not an expired one).
        return protocol is ImapProtocol or Pop3Protocol
            ? $"Account {account.Name} opens the shared mailbox {account.Username} with the sign-in of account {from}: that user needs Full Access on it. An Exchange administrator runs Add-MailboxPermission -Identity {account.Username} -User <the user who signs in for {from}> -AccessRights FullAccess (it can take up to an hour to apply), and username must be the shared mailbox's address."
            : null;
    }

    private static bool Has(string text, string code) =>
        text.Contains(code + ":", StringComparison.Ordinal) || text.Contains(code + " ", StringComparison.Ordinal) || text.EndsWith(code, StringComparison.Ordinal);

    private static string? MicrosoftHint(MailProtocol protocol, string rejection) => protocol switch
    {
        ImapProtocol when rejection.Contains("AUTHENTICATE failed", StringComparison.OrdinalIgnoreCase) =>
            "Check that username is the mailbox's address, that IMAP is enabled for the mailbox, and that the token's scope is https://outlook.office.com/IMAP.AccessAsUser.All (not graph.microsoft.com).",
        Pop3Protocol =>
            "Check that username is the mailbox's address, that POP is enabled for the mailbox, and that the token's scope includes https://outlook.office.com/POP.AccessAsUser.All (not graph.microsoft.com).",
        SmtpProtocol => ExchangeSmtpHint(rejection),
        _ => null,
    };

    private static string? ExchangeSmtpHint(string rejection)
    {
        if (rejection.Contains("SmtpClientAuthentication is disabled", StringComparison.OrdinalIgnoreCase))
        {
            return "SMTP AUTH is switched off for this mailbox or tenant, even for OAuth2: an Exchange administrator runs Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (and checks Set-TransportConfig -SmtpClientAuthenticationDisabled).";
        }
        if (rejection.Contains("did not meet the criteria", StringComparison.OrdinalIgnoreCase))
        {
            return "Security Defaults or a Conditional Access policy blocks SMTP AUTH for this sign-in.";
        }
        if (rejection.StartsWith("535", StringComparison.Ordinal))
        {
            return "Check that username is the mailbox's address and that the token's scope includes https://outlook.office.com/SMTP.Send (not graph.microsoft.com).";
        }
        return null;
    }
}
