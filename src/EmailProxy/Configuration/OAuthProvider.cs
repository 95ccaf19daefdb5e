namespace EmailProxy.Configuration;

/// <summary>The <c>provider</c> values: which built-in endpoints and scopes an account starts from.</summary>
internal enum OAuthProvider
{
    Microsoft,
    Google,
    Generic,
}
