using EmailProxy.Configuration;

namespace EmailProxy.Providers;

/// <summary>
/// A provider's built-in endpoints and default scope: Microsoft's are made from the cloud's (or the file's)
/// authority and the tenant, Google's are fixed, a generic provider has none (the file names each one, or its
/// issuer's discovery document does). Each provider and cloud also has a built-in upstream (<see cref="BuiltInUpstream"/>).
/// </summary>
internal sealed record ProviderEndpoints(Uri? AuthorizeUrl, Uri? TokenUrl, Uri? DeviceCodeUrl, string? Scope)
{
    public const string MicrosoftAuthority = "https://login.microsoftonline.com";

    /// <summary>The name of Google's built-in upstream, as <c>[server]</c> names read in texts and the metrics.</summary>
    public const string GoogleUpstreamName = "gmail";

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

    /// <summary>
    /// Gmail's IMAP, POP and SMTP submission: SMTP on 465, implicit TLS (Google's documented settings; 587 with
    /// STARTTLS works as well, in a <c>[server]</c> of one's own).
    /// </summary>
    public static readonly ServerOptions GoogleUpstream = new(GoogleUpstreamName)
    {
        ImapHost = "imap.gmail.com",
        ImapPort = 993,
        PopHost = "pop.gmail.com",
        PopPort = 995,
        SmtpHost = "smtp.gmail.com",
        SmtpPort = 465,
        Ssl = true,
        StartTls = true,
    };

    /// <summary>The endpoints of a provider; <paramref name="authority"/> (default: the cloud's), <paramref name="cloud"/> and <paramref name="tenant"/> are Microsoft's.</summary>
    public static ProviderEndpoints For(OAuthProvider provider, Uri? authority, string tenant, MicrosoftCloud? cloud = null) => provider switch
    {
        OAuthProvider.Microsoft => Microsoft(authority, tenant, cloud),
        OAuthProvider.Google => Google,
        _ => None,
    };

    /// <summary><c>{authority}/{tenant}/oauth2/v2.0/{authorize,token,devicecode}</c>, with the cloud's Exchange scopes.</summary>
    public static ProviderEndpoints Microsoft(Uri? authority, string tenant, MicrosoftCloud? cloud = null)
    {
        cloud ??= MicrosoftCloud.Global;
        var root = $"{(authority ?? cloud.Authority).OriginalString.TrimEnd('/')}/{Uri.EscapeDataString(tenant)}/oauth2/v2.0";
        return new(new Uri($"{root}/authorize"), new Uri($"{root}/token"), new Uri($"{root}/devicecode"), cloud.Scope) { AppOnlyScope = cloud.AppOnlyScope };
    }

    /// <summary>The upstream an account of this provider (and cloud) uses when it names no <c>[server]</c>; null for a generic provider, which has none.</summary>
    public static ServerOptions? BuiltInUpstream(OAuthProvider provider, MicrosoftCloud cloud) => provider switch
    {
        OAuthProvider.Microsoft => cloud.Upstream,
        OAuthProvider.Google => GoogleUpstream,
        _ => null,
    };

    /// <summary>The built-in upstream of that name (<c>gmail</c>, <c>microsoft</c>, <c>microsoft-usgov</c>…), or null.</summary>
    public static ServerOptions? FindBuiltInUpstream(string name) =>
        name.Equals(GoogleUpstreamName, StringComparison.OrdinalIgnoreCase)
            ? GoogleUpstream
            : MicrosoftCloud.All.Select(cloud => cloud.Upstream).FirstOrDefault(upstream => upstream.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Extra parameters of the provider's authorize URL: Google issues a refresh token only with
    /// <c>access_type=offline</c>, and again on a later sign-in only with <c>prompt=consent</c>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> AuthorizeParameters(OAuthProvider provider) => provider == OAuthProvider.Google
        ? [new("access_type", "offline"), new("prompt", "consent")]
        : [];
}
