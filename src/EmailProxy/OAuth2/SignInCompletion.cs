using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>What the redirect page shows.</summary>
internal sealed record SignInCompletion(bool Succeeded, AccountOptions? Account, string Message);
