using EmailProxy.Configuration;

namespace EmailProxy.Providers;

/// <summary>
/// A provider's built-in endpoints and default scope: Microsoft's are made from the authority and
/// the tenant, Google's are fixed, a generic provider has none (the file names each one).
/// </summary>
internal sealed record ProviderEndpoints(Uri? AuthorizeUrl, Uri? TokenUrl, Uri? DeviceCodeUrl, string? Scope)
{
    public const string MicrosoftAuthority = "https://login.microsoftonline.com";

    /// <summary>The outlook.office.com resource: Exchange refuses tokens for graph.microsoft.com (PROTOCOL-NOTES.md).</summary>
    public const string MicrosoftScope =
        "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";

    /// <summary>
    /// The scope of an app-only (client credentials) token for Exchange Online: a client-credentials
    /// request names no permission, only the resource's <c>.default</c>, and gets the application
    /// permissions (IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp) the app registration was granted.
    /// </summary>
    public const string MicrosoftAppOnlyScope = "https://outlook.office365.com/.default";

    public const string GoogleScope = "https://mail.google.com/";

    public static readonly ProviderEndpoints Google = new(
        new Uri("https://accounts.google.com/o/oauth2/v2/auth"),
        new Uri("https://oauth2.googleapis.com/token"),
        new Uri("https://oauth2.googleapis.com/device/code"),
        GoogleScope);

    /// <summary>The default scope of an app-only account (flow = client_credentials); null when the provider has none.</summary>
    public string? AppOnlyScope { get; init; }

    /// <summary>The default scope for an account of <paramref name="flow"/>: an app-only one for client credentials.</summary>
    public string? ScopeFor(OAuthFlow flow) => flow == OAuthFlow.ClientCredentials ? AppOnlyScope : Scope;

    public static readonly ProviderEndpoints None = new(null, null, null, null);

    /// <summary>The endpoints of a provider; <paramref name="authority"/> (default <see cref="MicrosoftAuthority"/>) and <paramref name="tenant"/> are Microsoft's.</summary>
    public static ProviderEndpoints For(OAuthProvider provider, Uri? authority, string tenant) => provider switch
    {
        OAuthProvider.Microsoft => Microsoft(authority, tenant),
        OAuthProvider.Google => Google,
        _ => None,
    };

    /// <summary><c>{authority}/{tenant}/oauth2/v2.0/{authorize,token,devicecode}</c>.</summary>
    public static ProviderEndpoints Microsoft(Uri? authority, string tenant)
    {
        var root = $"{(authority?.OriginalString ?? MicrosoftAuthority).TrimEnd('/')}/{Uri.EscapeDataString(tenant)}/oauth2/v2.0";
        return new(new Uri($"{root}/authorize"), new Uri($"{root}/token"), new Uri($"{root}/devicecode"), MicrosoftScope) { AppOnlyScope = MicrosoftAppOnlyScope };
    }
}
