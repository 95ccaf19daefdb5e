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

    /// <summary>Set for every account whose flow is authorization code (for an <c>issuer</c> account: once its discovery document is read).</summary>
    public Uri? AuthorizeUrl { get => field ?? Discovery?.Document?.AuthorizationEndpoint; init; }

    /// <summary>The token endpoint; null only for an <c>issuer</c> account whose discovery document has not been read (yet).</summary>
    public required Uri? TokenUrl { get => field ?? Discovery?.Document?.TokenEndpoint; init; }

    /// <summary>Set for every account whose flow is device code (for an <c>issuer</c> account: once its discovery document is read).</summary>
    public Uri? DeviceCodeUrl { get => field ?? Discovery?.Document?.DeviceAuthorizationEndpoint; init; }

    public required string Scope { get; init; }
    public OAuthFlow Flow { get; init; } = DefaultFlow;
    public string? PasswordHash { get; init; }

    /// <summary>client_certificate: a PEM certificate file (full path) whose key signs a client assertion (client credentials).</summary>
    public string? ClientCertificate { get; init; }

    /// <summary>client_key: the PEM private key file (full path) of <see cref="ClientCertificate"/>.</summary>
    public string? ClientKey { get; init; }

    /// <summary>allow_identity: other signed-in identities accepted for this account besides <see cref="Username"/> (a delegate of a shared mailbox).</summary>
    public IReadOnlyList<string> AllowIdentity { get; init; } = [];

    /// <summary>token_from: the account whose sign-in (tokens) this one uses; it logs in upstream as its own <see cref="Username"/> with them (a shared mailbox).</summary>
    public string? TokenFrom { get; init; }

    /// <summary>The <c>[account PATTERN]</c> template this account was made from for a matching login name; null for an account named in the file.</summary>
    public string? Template { get; init; }

    /// <summary>The account whose tokens a login of this one uses: <see cref="TokenFrom"/>'s, else its own.</summary>
    public string TokenAccountName => TokenFrom ?? Name;
    /// <summary>cloud: Microsoft's cloud of the account (its login host, Exchange hosts and scopes, Graph host).</summary>
    public Providers.MicrosoftCloud Cloud { get; init; } = Providers.MicrosoftCloud.Global;

    /// <summary>
    /// issuer (provider = generic): the issuer whose discovery document gives the endpoints the file does not;
    /// the one shared entry of that issuer, which holds the document once it is read (never by the configuration reader).
    /// </summary>
    public Providers.IssuerMetadata? Discovery { get; init; }

    /// <summary>The issuer of <see cref="Discovery"/>, if any.</summary>
    public Uri? Issuer => Discovery?.Issuer;

    /// <summary>sasl: the upstream login mechanism (a server that offers only the other one gets that one).</summary>
    public Sasl.SaslMechanism Sasl { get; init; } = EmailProxy.Sasl.SaslMechanism.XOAuth2;

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
        _ => TokenUrl?.Host ?? Issuer?.Host ?? "the identity provider",
    };

    /// <summary>Exchange refuses tokens minted for Microsoft Graph (see PROTOCOL-NOTES.md).</summary>
    public bool ScopeTargetsGraph => Scope.Contains("graph.microsoft.com", StringComparison.OrdinalIgnoreCase);

    /// <summary>Never the client secret or the password hash.</summary>
    public override string ToString() => $"AccountOptions {{ Name = {Name}, Username = {Username}, Server = {ServerName}, Provider = {Provider}, Flow = {Flow} }}";
}
