using EmailProxy.Accounts;
using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>How a sign-in ended: what the redirect page, the CLI and a waiting login are told, and who signed in (when known).</summary>
/// <param name="Password">The first sign-in of an account made from a template: its new client password, shown once by whoever
/// shows the outcome to the person first (the page that ends the sign-in, or <c>emailproxy auth</c>).</param>
internal sealed record SignInCompletion(bool Succeeded, AccountOptions? Account, string Message, string? Identity = null, GeneratedPassword? Password = null);
