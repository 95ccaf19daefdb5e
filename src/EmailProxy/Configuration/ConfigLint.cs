using EmailProxy.Providers;
using AccountKeys = EmailProxy.Configuration.ConfigKeys.Account;
using GeneralKeys = EmailProxy.Configuration.ConfigKeys.General;
using ServerKeys = EmailProxy.Configuration.ConfigKeys.Server;

namespace EmailProxy.Configuration;

/// <summary>
/// Warnings about accounts that read fine but will not work as meant, the pitfalls of Microsoft's
/// identity platform (PROTOCOL-NOTES.md) most of all: each names the section and key and says the fix.
/// They are warnings, not errors: the proxy starts (and logs them), and <c>emailproxy check</c> lists
/// them and exits 0. A value that cannot work at all is an error of its section reader instead.
/// </summary>
internal static class ConfigLint
{
    /// <summary>The OpenID Connect scopes, which name no resource.</summary>
    private static readonly string[] ResourcelessScopes = ["offline_access", "openid", "profile", "email"];

    /// <summary>
    /// The lints of one account: what its flow needs from scope, client_secret, client_certificate and tenant, and
    /// whether its server has a host for each mail listener the file turns on.
    /// </summary>
    /// <param name="section">The section as written, e.g. <c>account sales@x</c>.</param>
    /// <param name="account">The account as read.</param>
    /// <param name="general">The <c>[general]</c> section as read.</param>
    /// <param name="listenersWritten">The listener keys the file writes in <c>[general]</c> (a listener left at its default is not a claim that the protocol is used).</param>
    /// <param name="servers">Every <c>[server]</c> section.</param>
    /// <param name="problems">Where the warnings go.</param>
    public static void CheckAccount(string section, AccountOptions account, GeneralOptions general, IReadOnlySet<string> listenersWritten,
        IReadOnlyDictionary<string, ServerOptions> servers, ConfigProblems problems)
    {
        var microsoft = account.Provider == OAuthProvider.Microsoft;
        var delegated = account.Flow is OAuthFlow.AuthorizationCode or OAuthFlow.DeviceCode;
        var scopes = account.Scope.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

        // Google asks for a refresh token with access_type=offline, not with a scope.
        if (microsoft && delegated && !scopes.Contains("offline_access", StringComparer.OrdinalIgnoreCase))
        {
            problems.Warn(section, AccountKeys.Scope, account.Scope,
                "has no offline_access, so Microsoft issues no refresh token and the account must sign in again every hour: add offline_access to scope");
        }

        var resources = scopes.Select(Resource).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (microsoft && resources.Count > 1)
        {
            problems.Warn(section, AccountKeys.Scope, account.Scope,
                $"asks for scopes of {resources.Count} resources ({string.Join(", ", resources)}), but Microsoft issues a token for one resource only (AADSTS28000): "
                + $"keep the mail scopes of one resource, e.g. scope = {account.Cloud.Scope}");
        }

        if (account.Flow == OAuthFlow.DeviceCode && account.ClientSecret is not null)
        {
            // Never the value: it is a secret.
            problems.Warn(section, AccountKeys.ClientSecret, null,
                "is set, but flow = device_code is a public-client flow that uses no secret (the app registration needs 'Allow public client flows' instead): remove client_secret, so that no secret is kept that nothing needs");
        }

        if (account.Flow != OAuthFlow.ClientCredentials && account.ClientCertificate is not null)
        {
            problems.Warn(section, AccountKeys.ClientCertificate, null, account.Flow == OAuthFlow.DeviceCode
                ? "is set, but flow = device_code is a public-client flow that signs nothing with a certificate: remove client_certificate and client_key"
                : "is set, but only flow = client_credentials signs with a certificate (this account signs a person in): remove client_certificate and client_key, or set flow = client_credentials for an app-only account");
        }

        if (microsoft && account.Flow == OAuthFlow.ClientCredentials && !scopes.Any(s => s.EndsWith("/.default", StringComparison.OrdinalIgnoreCase)))
        {
            problems.Warn(section, AccountKeys.Scope, account.Scope,
                $"has no .default scope, but an app-only (client credentials) token is asked for with the resource's .default and Microsoft refuses anything else (AADSTS1002012): remove scope, or set scope = {account.Cloud.AppOnlyScope}");
        }

        CheckGoogle(section, account, problems);
        CheckCloud(section, account, servers, problems);

        if (microsoft && account.Flow == OAuthFlow.ClientCredentials
            && (account.Tenant.Equals("common", StringComparison.OrdinalIgnoreCase) || account.Tenant.Equals("organizations", StringComparison.OrdinalIgnoreCase)))
        {
            problems.Warn(section, AccountKeys.Tenant, account.Tenant,
                "cannot be used with flow = client_credentials: an app-only token is issued by one directory, so Microsoft refuses common and organizations; set tenant to the directory (tenant) id or its domain, e.g. contoso.onmicrosoft.com");
        }

        if (servers.TryGetValue(account.ServerName, out var server))
        {
            foreach (var (listenKey, listening, hostKey, host) in new[]
            {
                (GeneralKeys.ImapListen, general.ImapListen is not null, ServerKeys.ImapHost, server.ImapHost),
                (GeneralKeys.SmtpListen, general.SmtpListen is not null, ServerKeys.SmtpHost, server.SmtpHost),
                (GeneralKeys.PopListen, general.PopListen is not null, ServerKeys.PopHost, server.PopHost),
            })
            {
                if (listening && listenersWritten.Contains(listenKey) && host is null)
                {
                    problems.Warn(section, AccountKeys.Server, account.ServerName,
                        $"[general] {listenKey} is set, but [server {server.Name}] has no {hostKey}, so this account's logins there will fail: set {hostKey} in [server {server.Name}], point server at one that has it, or turn {listenKey} off");
                }
            }
        }
    }

    /// <summary>
    /// Google's pitfalls: its device flow does not hand out the mail scope (a "TVs and Limited Input devices" client
    /// gets only a short list of scopes, https://mail.google.com/ not among them), and its Desktop-app client's
    /// client_secret, which Google's token endpoint wants even though, in an installed app, it is no secret.
    /// </summary>
    private static void CheckGoogle(string section, AccountOptions account, ConfigProblems problems)
    {
        if (account.Provider != OAuthProvider.Google)
        {
            return;
        }
        if (account.Flow == OAuthFlow.DeviceCode)
        {
            problems.Warn(section, AccountKeys.Flow, "device_code",
                $"Google refuses mail scopes ({ProviderEndpoints.GoogleScope}) in the device flow (its limited-input clients get only a few scopes, and the device code request fails with invalid_scope): use flow = authorization_code with an OAuth client of type Desktop app");
        }
        if (account.Flow == OAuthFlow.AuthorizationCode && account.ClientSecret is null)
        {
            problems.Warn(section, AccountKeys.ClientSecret, null,
                "is not set, but Google's token endpoint wants the client secret even of a Desktop app client (it answers invalid_request, client_secret is missing): copy it from the OAuth client's page in the Google Cloud console");
        }
        else if (account.ClientSecret is not null)
        {
            // Never the value. Information more than a warning: nothing to fix.
            problems.Warn(section, AccountKeys.ClientSecret, null,
                "(for information, nothing to fix) a Google Desktop app client's client_secret is not a secret in Google's own sense, since it ships in every copy of an installed app; Google's token endpoint still requires it, so keep it here; the tokens are what the proxy guards");
        }
    }

    /// <summary>
    /// Microsoft's clouds: <c>cloud = usgov</c> is GCC High (a GCC tenant signs in in the global cloud), and a server
    /// whose hosts are another cloud's Exchange than the account's cloud gets tokens it refuses.
    /// </summary>
    private static void CheckCloud(string section, AccountOptions account, IReadOnlyDictionary<string, ServerOptions> servers, ConfigProblems problems)
    {
        if (account.Provider != OAuthProvider.Microsoft)
        {
            return;
        }
        if (account.Cloud == Providers.MicrosoftCloud.UsGov)
        {
            problems.Warn(section, AccountKeys.Cloud, account.Cloud.Name,
                "(for information) usgov is Microsoft 365 GCC High (login.microsoftonline.us, outlook.office365.us); a GCC (moderate) tenant lives in the commercial cloud: for GCC, remove cloud (or set cloud = global)");
        }
        if (!servers.TryGetValue(account.ServerName, out var server))
        {
            return;
        }
        foreach (var host in new[] { server.ImapHost, server.SmtpHost, server.PopHost }.OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (Providers.MicrosoftCloud.OfHost(host) is { } other && other != account.Cloud)
            {
                problems.Warn(section, AccountKeys.Server, account.ServerName,
                    $"[server {server.Name}] has {host}, an Exchange host of the {other.Name} cloud ({other.DisplayName}), but the account signs in with cloud = {account.Cloud.Name}, and Exchange refuses a token of another cloud: "
                    + (other == Providers.MicrosoftCloud.Global ? "remove cloud or " : $"set cloud = {other.Name}, or ")
                    + $"point server at {account.Cloud.ImapHost} (or remove server: the {account.Cloud.Name} cloud's built-in upstream is used when the file has no [server])");
                return;
            }
        }
    }

    /// <summary>
    /// <c>redirect_uri</c> on <c>localhost</c>: Microsoft compares the redirect URI with the app
    /// registration's exactly, and <c>http://localhost</c> and <c>http://127.0.0.1</c> are two
    /// different URIs to it (AADSTS50011). Said only when an account signs in with a redirect.
    /// </summary>
    public static void CheckRedirectUri(GeneralOptions general, IEnumerable<AccountOptions> accounts, ConfigProblems problems)
    {
        var uri = general.RedirectUri;
        if (!uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || !accounts.Any(a => a.Provider == OAuthProvider.Microsoft && a.Flow == OAuthFlow.AuthorizationCode))
        {
            return;
        }
        problems.Warn(ConfigKeys.GeneralSection, GeneralKeys.RedirectUri, uri.OriginalString,
            $"uses localhost: Microsoft matches the redirect URI exactly, and localhost and 127.0.0.1 are different URIs to it (AADSTS50011): "
            + $"register exactly {uri.OriginalString} in the app registration, or use and register http://127.0.0.1:{uri.Port} (the proxy's default)");
    }

    /// <summary>
    /// A listener in <c>starttls</c> mode while its clients could not trust the certificate yet:
    /// clients that verify (EspoCRM's Symfony Mailer, PHP's imap) upgrade whenever STARTTLS is
    /// offered, whatever their security setting says, so they must trust the CA; the EspoCRM recipe
    /// mounts <c>./config/tls/ca.pem</c>, which is there only once the proxy has made it, and a
    /// <c>local_certificate</c> has a CA of its own. One warning per key that sets the mode.
    /// </summary>
    /// <param name="general">The <c>[general]</c> section as read.</param>
    /// <param name="configDirectory">The configuration file's folder (<c>tls_dir</c> is relative to it).</param>
    /// <param name="problems">Where the warnings go.</param>
    public static void CheckLocalTls(GeneralOptions general, string configDirectory, ConfigProblems problems)
    {
        var offering = new[]
            {
                (Listen: general.ImapListen, Kind: MailListenerKind.Imap, Own: general.ImapTls, OwnKey: GeneralKeys.ImapTls, Name: "IMAP"),
                (Listen: general.SmtpListen, Kind: MailListenerKind.Smtp, Own: general.SmtpTls, OwnKey: GeneralKeys.SmtpTls, Name: "SMTP"),
                (Listen: general.PopListen, Kind: MailListenerKind.Pop, Own: general.PopTls, OwnKey: GeneralKeys.PopTls, Name: "POP3"),
            }
            .Where(l => l.Listen is not null && general.TlsOf(l.Kind) == LocalTlsMode.StartTls)
            .GroupBy(l => l.Own is null ? GeneralKeys.LocalTls : l.OwnKey);
        var ca = Path.Combine(Path.GetFullPath(general.TlsDirectory, configDirectory), LocalTls.LocalCertificateStore.CaCertificateFile);
        foreach (var group in offering)
        {
            var listeners = string.Join(" and ", group.Select(l => l.Name));
            var plaintext = group.Key == GeneralKeys.LocalTls ? "set local_tls = auto" : $"set {group.Key} = auto";
            if (general.LocalCertificate is { } certificate)
            {
                problems.Warn(ConfigKeys.GeneralSection, group.Key, "starttls",
                    $"{listeners} offer{(group.Count() == 1 ? "s" : "")} STARTTLS, which clients that verify (EspoCRM's Symfony Mailer, PHP's imap) take whenever it is offered, so they must trust the CA that issued local_certificate = {certificate}: install that CA in them (for EspoCRM: mount it into its container and run update-ca-certificates), or {plaintext} so that they stay in plaintext");
            }
            else if (!File.Exists(ca))
            {
                problems.Warn(ConfigKeys.GeneralSection, group.Key, "starttls",
                    $"{listeners} offer{(group.Count() == 1 ? "s" : "")} STARTTLS, which clients that verify (EspoCRM's Symfony Mailer, PHP's imap) take whenever it is offered, so they must trust the proxy's CA, but {ca} does not exist yet (the proxy makes it when it starts): install it in them once it is there (the EspoCRM recipe mounts ./config/tls/ca.pem), or {plaintext} so that they stay in plaintext");
            }
        }
    }

    /// <summary>The resource a scope belongs to (its scheme and host), or null for an OpenID Connect scope or a bare name; outlook.office.com and outlook.office365.com are both Exchange Online.</summary>
    private static string? Resource(string scope)
    {
        if (ResourcelessScopes.Contains(scope, StringComparer.OrdinalIgnoreCase) || !Uri.TryCreate(scope, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var host = uri.Host.Equals("outlook.office365.com", StringComparison.OrdinalIgnoreCase) ? "outlook.office.com" : uri.Host;
        return $"{uri.Scheme}://{host}";
    }
}
