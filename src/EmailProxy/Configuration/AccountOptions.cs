namespace EmailProxy.Configuration;

/// <summary>
/// An <c>[account NAME]</c> section: the login name a client types and how to sign it in. An endpoint
/// is null when neither the file nor the provider gives it; the reader makes sure the account's flow
/// has the ones it needs (every flow needs the token endpoint, so that one is never null).
/// </summary>
internal sealed record AccountOptions(string Name)
{
    public const OAuthProvider DefaultProvider = OAuthProvider.Microsoft;
    public const OAuthFlow DefaultFlow = OAuthFlow.AuthorizationCode;
    public const string DefaultTenant = "common";

    public required string Username { get; init; }
    public required string ServerName { get; init; }
    public OAuthProvider Provider { get; init; } = DefaultProvider;
    public required string ClientId { get; init; }
    public string? ClientSecret { get; init; }
    public string Tenant { get; init; } = DefaultTenant;

    /// <summary>Set for every account whose flow is authorization code.</summary>
    public Uri? AuthorizeUrl { get; init; }

    public required Uri TokenUrl { get; init; }

    /// <summary>Set for every account whose flow is device code.</summary>
    public Uri? DeviceCodeUrl { get; init; }

    public required string Scope { get; init; }
    public OAuthFlow Flow { get; init; } = DefaultFlow;
    public string? PasswordHash { get; init; }

    /// <summary>client_certificate: a PEM certificate file (full path) whose key signs a client assertion (client credentials).</summary>
    public string? ClientCertificate { get; init; }

    /// <summary>client_key: the PEM private key file (full path) of <see cref="ClientCertificate"/>.</summary>
    public string? ClientKey { get; init; }

    /// <summary>allow_identity: other signed-in identities accepted for this account besides <see cref="Username"/> (a delegate of a shared mailbox).</summary>
    public IReadOnlyList<string> AllowIdentity { get; init; } = [];

    /// <summary>smtp_via: how the SMTP front delivers this account's mail (SMTP upstream, Microsoft Graph, or SMTP switching to Graph).</summary>
    public SmtpVia SmtpVia { get; init; } = SmtpVia.Smtp;

    /// <summary>graph_url: Microsoft Graph's base address (no path); tests point it at their own server.</summary>
    public Uri GraphUrl { get; init; } = DefaultGraphUrl;

    /// <summary>graph_scope as written; null picks <see cref="Graph.GraphScopes"/>' default for the flow and the signed-in identity.</summary>
    public string? GraphScope { get; init; }

    /// <summary>graph_save_to_sent_items: Graph keeps a copy of each message it sends in Sent Items.</summary>
    public bool GraphSaveToSentItems { get; init; } = true;

    public static readonly Uri DefaultGraphUrl = new("https://graph.microsoft.com");

    /// <summary>The SMTP front may deliver this account's mail through Graph (smtp_via graph or auto): the sign-in also asks for the Graph scope.</summary>
    public bool MayUseGraph => SmtpVia is SmtpVia.Graph or SmtpVia.Auto;

    public string ProviderDisplayName => Provider switch
    {
        OAuthProvider.Microsoft => "Microsoft",
        OAuthProvider.Google => "Google",
        _ => TokenUrl.Host,
    };

    /// <summary>Exchange refuses tokens minted for Microsoft Graph (see PROTOCOL-NOTES.md).</summary>
    public bool ScopeTargetsGraph => Scope.Contains("graph.microsoft.com", StringComparison.OrdinalIgnoreCase);

    /// <summary>Never the client secret or the password hash.</summary>
    public override string ToString() => $"AccountOptions {{ Name = {Name}, Username = {Username}, Server = {ServerName}, Provider = {Provider}, Flow = {Flow} }}";
}
