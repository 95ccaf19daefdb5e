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
        return account.Provider == OAuthProvider.Microsoft ? MicrosoftHint(protocol, rejection) : null;
    }

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
