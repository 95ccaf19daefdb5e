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

    public const string GoogleScope = "https://mail.google.com/";

    public static readonly ProviderEndpoints Google = new(
        new Uri("https://accounts.google.com/o/oauth2/v2/auth"),
        new Uri("https://oauth2.googleapis.com/token"),
        new Uri("https://oauth2.googleapis.com/device/code"),
        GoogleScope);

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
        return new(new Uri($"{root}/authorize"), new Uri($"{root}/token"), new Uri($"{root}/devicecode"), MicrosoftScope);
    }
}
