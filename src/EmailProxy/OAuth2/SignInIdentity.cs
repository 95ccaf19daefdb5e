using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// The identity check after every sign-in (issue 12 item 4): the scopes a sign-in asks for
/// (the account's mail scopes plus <c>openid profile email</c> where the provider allows) and the
/// comparison of who signed in with the account's <c>username</c> and <c>allow_identity</c>.
/// Without it, whoever happens to be signed in to the browser (a colleague, the admin's own
/// account) would quietly become the mailbox's tokens, and the proxy would log in as them.
/// </summary>
/// <remarks>
/// The id_token's signature is not checked: it arrives in the token endpoint's answer to the
/// proxy's own request, over TLS to the configured token URL, and OpenID Connect Core 1.0
/// §3.1.3.7 (6) lets a client use TLS server validation in place of the signature in that case.
/// The access token is read only for its <c>upn</c>/<c>unique_name</c> claims, on the same
/// grounds; it is never trusted for anything else.
/// </remarks>
internal static partial class SignInIdentity
{
    /// <summary>The scopes OpenID Connect defines for who signed in: the id_token, its name claims, its email claims.</summary>
    internal static readonly string[] IdentityScopes = ["openid", "profile", "email"];

    /// <summary>The longest identity in a message: an address is at most 320 characters.</summary>
    private const int MaxShownLength = 320;

    /// <summary>
    /// The scope an interactive sign-in (browser or device code) asks for: the account's scope with
    /// <c>openid profile email</c> added, each once, where the provider allows it. Microsoft's and
    /// Google's endpoints accept them beside the mail scopes. A generic provider gets them only when
    /// the configured scope already asks for <c>openid</c> (it is an OpenID provider, and OIDC Core
    /// §3.1.2.1 says scopes it does not understand are ignored); without discovery the proxy cannot
    /// know more. Client credentials have no person (and the <c>.default</c> scope allows nothing
    /// beside it). Refreshes keep the account's plain scope: the identity was checked at the sign-in.
    /// </summary>
    /// <param name="withGraph">Whether the Graph scope of an account that sends through Graph is asked for too: not in a
    /// device-code request, whose token answer has no later request that could narrow it to the mail scopes (one token
    /// serves one resource), so such an account's Graph consent comes from an administrator or a browser sign-in.</param>
    public static string ScopeFor(AccountOptions account, bool withGraph = true)
    {
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return account.Scope;
        }
        var scopes = account.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var asksOpenId = scopes.Contains("openid", StringComparer.OrdinalIgnoreCase);
        if (account.Provider == OAuthProvider.Generic && !asksOpenId)
        {
            return account.Scope;
        }
        var missing = IdentityScopes.Where(s => !scopes.Contains(s, StringComparer.OrdinalIgnoreCase)).ToArray();
        // smtp_via graph/auto: one consent covers the Graph scope too (the code is still redeemed for the mail scopes).
        var graph = withGraph && account.MayUseGraph ? Graph.GraphScopes.ForAuthorize(account).Where(s => !scopes.Contains(s, StringComparer.OrdinalIgnoreCase)).ToArray() : [];
        missing = [.. missing, .. graph];
        return missing.Length == 0 ? account.Scope : string.Join(' ', [.. scopes, .. missing]);
    }

    /// <summary>
    /// Whether the tokens of a completed sign-in belong to someone who may use the account: the
    /// id_token's <c>preferred_username</c> or <c>email</c>, or the access token's <c>upn</c> or
    /// <c>unique_name</c> when it is a JWT (Exchange's are; Google's are opaque), equal to the
    /// account's <c>username</c> or one of its <c>allow_identity</c> (case-insensitive: addresses and
    /// UPNs are). ANY of them matching is enough: in Entra the UPN often differs from the mailbox
    /// address, and either may be what the operator wrote. When the tokens name nobody (no id_token
    /// and an opaque access token: a generic provider without <c>openid</c>, or a provider that
    /// dropped it) the sign-in is accepted with a warning in the log: refusing would lock such
    /// accounts out for good, and the proxy cannot do better than the provider tells it.
    /// </summary>
    /// <param name="log">Where the "nobody named" warning goes (the sign-in manager's log).</param>
    /// <remarks>
    /// An account made from a template (<c>[account *@domain]</c>) is stricter, since its login name is whatever a
    /// client typed: tokens that name nobody are refused (else anyone could sign in for a colleague's name and take
    /// its generated password), and with Microsoft the id_token's <c>email</c> does not count (Entra does not verify
    /// it for every tenant; <c>preferred_username</c> and the access token's <c>upn</c> do).
    /// </remarks>
    public static IdentityVerdict Check(AccountOptions account, TokenEndpointResult result, ILogger? log = null)
    {
        var named = NamesIn(result, trustEmail: account.Template is null || account.Provider != OAuthProvider.Microsoft);
        if (named.Count == 0 && account.Template is not null)
        {
            return IdentityVerdict.Refuse("(nobody named)",
                $"the provider's tokens do not say who signed in, and account {account.Username} is made from the template "
                + $"[account {account.Template}], whose sign-ins must name their person: ask for openid in its scope");
        }
        if (named.Count == 0)
        {
            if (log is not null)
            {
                LogIdentityUnknown(log, account.Name, account.ProviderDisplayName);
            }
            return IdentityVerdict.Accept(null);
        }
        // The best name for the person: what the provider shows as the user name, else the address, else the UPN.
        var shown = ClientText.Sanitize(named[0], MaxShownLength);
        if (named.Any(name => Allowed(account, name)))
        {
            return IdentityVerdict.Accept(shown);
        }
        var person = shown.IndexOf('@', StringComparison.Ordinal) is > 0 and var at ? shown[..at] : shown;
        return IdentityVerdict.Refuse(shown,
            $"signed in as {shown}, but this account is {account.Username}: sign in again as {account.Username}, "
            + $"or add `allow_identity = {shown}` to [account {account.Name}] if {person} may use it");
    }

    /// <summary>
    /// Every name the tokens give for who signed in, best first: the id_token's preferred_username
    /// (what the provider shows as the user name: the UPN in Entra) and email, then the access
    /// token's upn and unique_name. Unreadable tokens give none.
    /// </summary>
    /// <param name="trustEmail">Whether the id_token's <c>email</c> counts (not for a template account with Microsoft).</param>
    internal static IReadOnlyList<string> NamesIn(TokenEndpointResult result, bool trustEmail = true)
    {
        var names = new List<string>(4);
        if (JwtPayload.TryRead(result.IdToken, out var id))
        {
            Add(names, JwtPayload.StringClaim(id, "preferred_username"));
            if (trustEmail)
            {
                Add(names, JwtPayload.StringClaim(id, "email"));
            }
        }
        if (JwtPayload.TryRead(result.AccessToken, out var access))
        {
            Add(names, JwtPayload.StringClaim(access, "upn"));
            Add(names, JwtPayload.StringClaim(access, "unique_name"));
        }
        return names;

        static void Add(List<string> names, string? name)
        {
            if (!string.IsNullOrWhiteSpace(name))
            {
                names.Add(name);
            }
        }
    }

    private static bool Allowed(AccountOptions account, string identity) =>
        string.Equals(identity, account.Username, StringComparison.OrdinalIgnoreCase)
        || account.AllowIdentity.Contains(identity, StringComparer.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 2040, EventName = "SignInIdentityUnknown", Level = LogLevel.Warning,
        Message = "OAuth2 sign-in of account {Account} with {Provider}: the tokens do not say who signed in (no id_token, and the access token is not a JWT), so it could not be checked against username and allow_identity; accepted. Add openid (and email) to the account's scope if the provider supports OpenID Connect")]
    private static partial void LogIdentityUnknown(ILogger logger, string account, string provider);
}
