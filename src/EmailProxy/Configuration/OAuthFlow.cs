namespace EmailProxy.Configuration;

/// <summary>The <c>flow</c> values: how an account is signed in.</summary>
internal enum OAuthFlow
{
    AuthorizationCode,
    DeviceCode,
    ClientCredentials,
}
