using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using EmailProxy.Providers;
using Keys = EmailProxy.Configuration.ConfigKeys.Account;

namespace EmailProxy.Configuration;

/// <summary>
/// Reads an <c>[account NAME]</c> section into <see cref="AccountOptions"/>: the provider's built-in
/// endpoints and scope (<see cref="ProviderEndpoints"/>) fill what the file leaves out, and an endpoint
/// the account's flow needs but nobody gives is an error.
/// </summary>
internal static class AccountSectionReader
{
    /// <summary>An address is at most 320 characters (RFC 3696 errata); a UPN less.</summary>
    private const int MaxIdentityLength = 320;

    private static readonly (string Name, OAuthProvider Value)[] ProviderNames =
        [("microsoft", OAuthProvider.Microsoft), ("google", OAuthProvider.Google), ("generic", OAuthProvider.Generic)];

    private static readonly (string Name, Sasl.SaslMechanism Value)[] SaslNames =
        [("xoauth2", Sasl.SaslMechanism.XOAuth2), ("oauthbearer", Sasl.SaslMechanism.OAuthBearer)];

    private static readonly (string Name, SmtpVia Value)[] SmtpViaNames =
        [("smtp", SmtpVia.Smtp), ("graph", SmtpVia.Graph), ("auto", SmtpVia.Auto)];

    private static readonly (string Name, OAuthFlow Value)[] FlowNames =
        [("authorization_code", OAuthFlow.AuthorizationCode), ("device_code", OAuthFlow.DeviceCode), ("client_credentials", OAuthFlow.ClientCredentials)];

    /// <summary>The account, or null when the section has errors (they are in the problems).</summary>
    public static AccountOptions? Read(SectionReader section, string name, IReadOnlyDictionary<string, ServerOptions> servers)
    {
        section.WarnUnknownKeys(Keys.All);
        var errorsBefore = section.ErrorCount;

        var clientId = section.Text(Keys.ClientId);
        // token_from: the OAuth settings are the other account's (TokenFromRules fills them in), so client_id is not needed.
        var tokenFrom = section.Text(Keys.TokenFrom);
        if (clientId is null && tokenFrom is null)
        {
            section.Error(Keys.ClientId, null, "is required: the application (client) id of the app registration");
        }

        var provider = section.Choice(Keys.Provider, ProviderNames) ?? AccountOptions.DefaultProvider;
        var cloud = ReadCloud(section, provider);
        var serverName = ReadServerName(section, servers, ProviderEndpoints.BuiltInUpstream(provider, cloud), provider);
        var issuer = ReadIssuer(section, provider);
        var sasl = section.Choice(Keys.Sasl, SaslNames) ?? Sasl.SaslMechanism.XOAuth2;
        var flow = section.Choice(Keys.Flow, FlowNames) ?? AccountOptions.DefaultFlow;
        var clientSecret = section.Text(Keys.ClientSecret);
        var clientCertificate = section.Text(Keys.ClientCertificate);
        var clientKey = section.Text(Keys.ClientKey);
        if (flow == OAuthFlow.ClientCredentials && clientSecret is null && clientCertificate is null && clientKey is null)
        {
            section.Error(Keys.ClientSecret, null, "is required with flow = client_credentials (or client_certificate and client_key)");
        }
        var allowIdentity = ReadAllowIdentity(section, flow);

        var tenant = section.Text(Keys.Tenant) ?? AccountOptions.DefaultTenant;
        var authority = section.Url(Keys.Authority);
        if (authority is not null && provider != OAuthProvider.Microsoft)
        {
            section.Warn(Keys.Authority, authority.OriginalString, "is only used with provider = microsoft");
        }
        var builtIn = ProviderEndpoints.For(provider, authority, tenant, cloud);
        // With an issuer, what the file does not give comes from its discovery document, read at first use (not here: no network in the reader).
        var discovered = issuer is not null;
        var authorizeUrl = Endpoint(section, Keys.AuthorizeUrl, builtIn.AuthorizeUrl, flow, discovered);
        var tokenUrl = Endpoint(section, Keys.TokenUrl, builtIn.TokenUrl, flow, discovered);
        var deviceCodeUrl = Endpoint(section, Keys.DeviceCodeUrl, builtIn.DeviceCodeUrl, flow, discovered);

        // A configured scope wins; an app-only account gets the provider's .default scope.
        var scope = section.Text(Keys.Scope) ?? builtIn.ScopeFor(flow);
        if (scope is null)
        {
            section.Error(Keys.Scope, null, provider == OAuthProvider.Generic
                ? "is required with provider = generic"
                : "is required with flow = client_credentials for this provider, which has no app-only scope of its own");
        }
        var certificatePath = clientCertificate is null ? null : section.Resolve(clientCertificate);
        var keyPath = clientKey is null ? null : section.Resolve(clientKey);
        CheckCertificate(section, flow, clientSecret is not null, certificatePath, keyPath);

        var hash = section.Text(Keys.PasswordHash);
        if (hash is not null && !PasswordVerifier.IsWellFormed(hash))
        {
            // Never the value: it may be a password pasted by mistake.
            section.Error(Keys.PasswordHash, null, "is not a value made by 'emailproxy hash-password'");
        }

        var smtpVia = section.Choice(Keys.SmtpVia, SmtpViaNames) ?? SmtpVia.Smtp;
        // The cloud's Graph host (graph.microsoft.us for usgov, …) unless the file names one.
        var graphUrl = section.Url(Keys.GraphUrl) ?? cloud.GraphUrl;
        var graphScope = section.Text(Keys.GraphScope);
        var saveToSentItems = section.Boolean(Keys.GraphSaveToSentItems) ?? true;
        if (smtpVia != SmtpVia.Smtp && provider != OAuthProvider.Microsoft)
        {
            section.Error(Keys.SmtpVia, section.Text(Keys.SmtpVia), "graph and auto are for Microsoft 365 accounts only (provider = microsoft)");
        }

        if (section.ErrorCount != errorsBefore)
        {
            return null;
        }
        return new AccountOptions(name)
        {
            Username = section.Text(Keys.Username) ?? name,
            ServerName = serverName!,
            Provider = provider,
            ClientId = clientId!,
            ClientSecret = clientSecret,
            Tenant = tenant,
            // An app-only account has no person to sign in: without an authorize URL nothing offers or starts a browser sign-in for it.
            AuthorizeUrl = flow == OAuthFlow.ClientCredentials ? null : authorizeUrl,
            TokenUrl = tokenUrl,
            DeviceCodeUrl = deviceCodeUrl,
            Scope = scope!,
            Flow = flow,
            PasswordHash = hash,
            ClientCertificate = certificatePath,
            ClientKey = keyPath,
            AllowIdentity = allowIdentity,
            TokenFrom = tokenFrom,
            Cloud = cloud,
            Discovery = issuer is null ? null : IssuerMetadata.For(issuer),
            Sasl = sasl,
            SmtpVia = smtpVia,
            GraphUrl = graphUrl,
            GraphScope = graphScope,
            GraphSaveToSentItems = saveToSentItems,
        };
    }

    /// <summary>
    /// allow_identity: identities (addresses, UPNs) separated by spaces or commas. A value that
    /// cannot be an identity (a quote, a control or other blank character, longer than an address)
    /// would never match who signed in: it is left out with a warning, not an error, because the
    /// account still works for its own username. A value that names nobody (only commas), and the
    /// key with client credentials (nobody signs in), are warnings too.
    /// </summary>
    private static string[] ReadAllowIdentity(SectionReader section, OAuthFlow flow)
    {
        var raw = section.Text(Keys.AllowIdentity);
        if (raw is null)
        {
            return [];
        }
        var values = raw.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (values.Length == 0)
        {
            section.Warn(Keys.AllowIdentity, raw, "names nobody: give the identities (addresses or UPNs) that may sign in for this account, or remove the key");
            return [];
        }
        if (flow == OAuthFlow.ClientCredentials)
        {
            section.Warn(Keys.AllowIdentity, null, "is ignored with flow = client_credentials: no person signs in");
        }
        var kept = new List<string>(values.Length);
        foreach (var value in values)
        {
            if (LooksLikeIdentity(value))
            {
                kept.Add(value);
            }
            else
            {
                section.Warn(Keys.AllowIdentity, ClientText.Sanitize(value, MaxIdentityLength),
                    "is not an identity (an address or UPN such as bob@example.com, without quotes or blanks; several are separated by spaces): it is ignored");
            }
        }
        return [.. kept];
    }

    private static bool LooksLikeIdentity(string value) =>
        value.Length <= MaxIdentityLength
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '`' or '<' or '>' or ';');

    /// <summary>
    /// client_certificate and client_key come as a pair whose files must load and belong together (one
    /// line naming the key at fault, the key's content never); beside a secret, the certificate is used.
    /// </summary>
    private static void CheckCertificate(SectionReader section, OAuthFlow flow, bool hasSecret, string? certificatePath, string? keyPath)
    {
        if (certificatePath is null && keyPath is null)
        {
            return;
        }
        if (certificatePath is null || keyPath is null)
        {
            section.Error(certificatePath is null ? Keys.ClientCertificate : Keys.ClientKey, null,
                certificatePath is null
                    ? "is required with client_key: the PEM file of the certificate whose private key client_key is"
                    : "is required with client_certificate: the PEM file of the certificate's private key");
            return;
        }
        if (flow != OAuthFlow.ClientCredentials)
        {
            // Not loaded: nothing signs with it (ConfigLint says so).
            return;
        }
        using var credential = ClientCertificateAssertion.TryLoad(certificatePath, keyPath, out var key, out var problem);
        if (credential is null)
        {
            section.Error(key, null, problem);
            return;
        }
        if (hasSecret)
        {
            section.Warn(Keys.ClientSecret, null, "is set beside client_certificate: the certificate is used and the secret is not; remove client_secret so that no secret is kept that nothing needs");
        }
    }

    /// <summary>
    /// cloud (Microsoft only): one of <see cref="MicrosoftCloud.All"/>; an unknown name is an error, the key with
    /// another provider a warning (it is ignored).
    /// </summary>
    private static MicrosoftCloud ReadCloud(SectionReader section, OAuthProvider provider)
    {
        var value = section.Text(Keys.Cloud);
        if (value is null)
        {
            return MicrosoftCloud.Global;
        }
        if (MicrosoftCloud.Find(value) is not { } cloud)
        {
            section.Error(Keys.Cloud, ClientText.Sanitize(value, 100),
                $"is not a Microsoft cloud: use one of {string.Join(", ", MicrosoftCloud.All.Select(c => c.Name))} (global also for GCC; usgov is GCC High)");
            return MicrosoftCloud.Global;
        }
        if (provider != OAuthProvider.Microsoft)
        {
            section.Warn(Keys.Cloud, value, "is only used with provider = microsoft: ignored");
            return MicrosoftCloud.Global;
        }
        return cloud;
    }

    /// <summary>issuer (generic only): an https:// URL (http:// only on loopback); with another provider a warning (it is ignored).</summary>
    private static Uri? ReadIssuer(SectionReader section, OAuthProvider provider)
    {
        var issuer = section.Url(Keys.Issuer);
        if (issuer is not null && provider != OAuthProvider.Generic)
        {
            section.Warn(Keys.Issuer, issuer.OriginalString, "is only used with provider = generic: ignored (this provider's endpoints are built in)");
            return null;
        }
        if (issuer is not null && (!string.IsNullOrEmpty(issuer.Query) || !string.IsNullOrEmpty(issuer.Fragment)))
        {
            section.Error(Keys.Issuer, issuer.OriginalString, "must be the issuer's URL without a query or fragment (the proxy adds /.well-known/openid-configuration)");
            return null;
        }
        return issuer;
    }

    /// <summary>
    /// The account's upstream: the <c>[server]</c> it names (or a built-in upstream by its name); without <c>server</c>,
    /// a Microsoft or generic account takes the file's only <c>[server]</c>, as it always did, and otherwise (Google
    /// always, Microsoft when the file has no <c>[server]</c>) the provider's or cloud's built-in upstream.
    /// </summary>
    private static string? ReadServerName(SectionReader section, IReadOnlyDictionary<string, ServerOptions> servers, ServerOptions? builtIn, OAuthProvider provider)
    {
        var serverName = section.Text(Keys.Server);
        if (serverName is null)
        {
            if (provider != OAuthProvider.Google && servers.Count == 1)
            {
                return servers.Keys.First();
            }
            if (builtIn is not null && (provider == OAuthProvider.Google || servers.Count == 0))
            {
                return builtIn.Name;
            }
            section.Error(Keys.Server, null, servers.Count == 0
                ? "is needed, and there is no [server NAME] section to point it at (provider = generic has no built-in upstream)"
                : $"is needed when there are several [server] sections ({string.Join(", ", servers.Keys)})");
        }
        else if (!servers.ContainsKey(serverName) && ProviderEndpoints.FindBuiltInUpstream(serverName) is null)
        {
            section.Error(Keys.Server, serverName, $"there is no [server {serverName}] section");
        }
        return serverName;
    }

    /// <summary>The endpoint the file gives, else the provider's; missing is an error only when the flow needs it.</summary>
    /// <param name="discovered">The account has an issuer: a missing endpoint comes from its discovery document.</param>
    private static Uri? Endpoint(SectionReader section, string key, Uri? builtIn, OAuthFlow flow, bool discovered)
    {
        var written = section.Text(key) is not null;
        var url = written ? section.Url(key) : builtIn;
        if (url is null && !written && !discovered && Needs(flow, key))
        {
            // token_url and authorize_url keep the wording they always had; only the device-code
            // endpoint, which one flow alone needs, names that flow.
            section.Error(key, null, key == Keys.DeviceCodeUrl
                ? $"is required with provider = generic and flow = {FlowNames.First(f => f.Value == flow).Name}"
                : "is required with provider = generic");
        }
        return url;
    }

    /// <summary>Which endpoints each flow uses: every flow redeems at the token endpoint.</summary>
    private static bool Needs(OAuthFlow flow, string key) => key switch
    {
        Keys.TokenUrl => true,
        Keys.AuthorizeUrl => flow == OAuthFlow.AuthorizationCode,
        Keys.DeviceCodeUrl => flow == OAuthFlow.DeviceCode,
        _ => false,
    };
}
