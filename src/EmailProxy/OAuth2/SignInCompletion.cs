using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>How a sign-in ended: what the redirect page, the CLI and a waiting login are told, and who signed in (when known).</summary>
internal sealed record SignInCompletion(bool Succeeded, AccountOptions? Account, string Message, string? Identity = null);
