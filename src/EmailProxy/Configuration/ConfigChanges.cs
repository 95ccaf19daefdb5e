namespace EmailProxy.Configuration;

/// <summary>
/// What a reload changes, from the configuration in effect to the one just read: by name only, never a
/// value (a value may be a secret). <see cref="Pin"/> first keeps the keys that need a restart at the
/// values the proxy runs with; <see cref="Of"/> then lists the rest, and <see cref="ToString"/> is the
/// reload's one-line summary.
/// </summary>
internal sealed record ConfigChanges(
    IReadOnlyList<string> AccountsAdded,
    IReadOnlyList<string> AccountsRemoved,
    IReadOnlyList<string> AccountsChanged,
    IReadOnlyList<string> OAuthChanged,
    IReadOnlyList<string> ServersAdded,
    IReadOnlyList<string> ServersRemoved,
    IReadOnlyList<string> ServersChanged,
    IReadOnlyList<ListenerChange> Listeners,
    IReadOnlyList<string> SettingsChanged,
    IReadOnlyList<string> NeedRestart)
{
    /// <summary>
    /// The <c>[general]</c> keys a running proxy cannot take: the folders and files it opened or made at
    /// start (token_dir, secret_file, tls_dir, the local certificate), the HTTP listener and what its
    /// pages and endpoints were built with (web_listen, redirect_uri, local_server_auth, web_hosts), and the log's
    /// format, set up before anything else (log_format; log_level is live). The admin credentials are live: an operator
    /// who rotates a leaked admin_password or metrics_token must not have the old one keep working until a restart.
    /// </summary>
    private static readonly (string Key, Func<GeneralOptions, GeneralOptions, bool> Same)[] RestartKeys =
    [
        (ConfigKeys.General.TokenDir, (a, b) => a.TokenDirectory == b.TokenDirectory),
        (ConfigKeys.General.SecretFile, (a, b) => a.SecretFile == b.SecretFile),
        (ConfigKeys.General.TlsDir, (a, b) => a.TlsDirectory == b.TlsDirectory),
        (ConfigKeys.General.LocalCertificate, (a, b) => a.LocalCertificate == b.LocalCertificate),
        (ConfigKeys.General.LocalKey, (a, b) => a.LocalKey == b.LocalKey),
        (ConfigKeys.General.LocalTlsNames, (a, b) => a.LocalTlsNames.SequenceEqual(b.LocalTlsNames, StringComparer.Ordinal)),
        (ConfigKeys.General.WebListen, (a, b) => Equals(a.WebListen, b.WebListen)),
        (ConfigKeys.General.RedirectUri, (a, b) => a.RedirectUri.OriginalString == b.RedirectUri.OriginalString),
        (ConfigKeys.General.LocalServerAuth, (a, b) => a.LocalServerAuth == b.LocalServerAuth),
        (ConfigKeys.General.WebHosts, (a, b) => a.WebHosts.SequenceEqual(b.WebHosts, StringComparer.Ordinal)),
        (ConfigKeys.General.LogFormat, (a, b) => a.LogFormat == b.LogFormat),
        (ConfigKeys.General.TokenStore, (a, b) => a.TokenStore == b.TokenStore),
        (ConfigKeys.General.Redis, (a, b) => a.Redis == b.Redis),
    ];

    /// <summary>The <c>[general]</c> keys a reload applies that no other part of the summary names.</summary>
    private static readonly (string Key, Func<GeneralOptions, GeneralOptions, bool> Same)[] LiveKeys =
    [
        (ConfigKeys.General.WaitForAuthorization, (a, b) => a.WaitForAuthorization == b.WaitForAuthorization),
        (ConfigKeys.General.AllowOpenRelay, (a, b) => a.AllowOpenRelay == b.AllowOpenRelay),
        (ConfigKeys.General.LogLevel, (a, b) => a.LogLevel == b.LogLevel),
        (ConfigKeys.General.AdminPassword, (a, b) => a.AdminPassword == b.AdminPassword),
        (ConfigKeys.General.MetricsToken, (a, b) => a.MetricsToken == b.MetricsToken),
    ];

    private static readonly MailListenerKind[] Kinds = [MailListenerKind.Imap, MailListenerKind.Smtp, MailListenerKind.Pop];

    /// <summary>
    /// <paramref name="file"/> with every key that needs a restart set back to its value in
    /// <paramref name="running"/>, and the names of those whose value differed (in the order of <see cref="RestartKeys"/>).
    /// </summary>
    public static (ProxyConfig Pinned, IReadOnlyList<string> NeedRestart) Pin(ProxyConfig running, ProxyConfig file)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(file);
        var was = running.General;
        var now = file.General;
        var differ = RestartKeys.Where(key => !key.Same(was, now)).Select(key => key.Key).ToList();
        var pinned = file with
        {
            ConfigPath = running.ConfigPath,
            // The accounts templates made stay made; their keys come from the new file's templates.
            Created = running.Created,
            General = now with
            {
                TokenDirectory = was.TokenDirectory,
                SecretFile = was.SecretFile,
                TlsDirectory = was.TlsDirectory,
                LocalCertificate = was.LocalCertificate,
                LocalKey = was.LocalKey,
                LocalTlsNames = was.LocalTlsNames,
                WebListen = was.WebListen,
                RedirectUri = was.RedirectUri,
                LocalServerAuth = was.LocalServerAuth,
                WebHosts = was.WebHosts,
                LogFormat = was.LogFormat,
                TokenStore = was.TokenStore,
                Redis = was.Redis,
            },
        };
        return (pinned, differ);
    }

    /// <summary>What changes from <paramref name="running"/> to <paramref name="next"/> (already pinned).</summary>
    public static ConfigChanges Of(ProxyConfig running, ProxyConfig next, IReadOnlyList<string> needRestart)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        var changed = Names(running.Accounts.Keys.Intersect(next.Accounts.Keys, StringComparer.OrdinalIgnoreCase)
            .Where(name => !SameAccount(running.Accounts[name], next.Accounts[name])));
        return new ConfigChanges(
            Names(next.Accounts.Keys.Except(running.Accounts.Keys, StringComparer.OrdinalIgnoreCase)),
            Names(running.Accounts.Keys.Except(next.Accounts.Keys, StringComparer.OrdinalIgnoreCase)),
            changed,
            [.. changed.Where(name => !SameOAuth(running.Accounts[name], next.Accounts[name]))],
            Names(next.Servers.Keys.Except(running.Servers.Keys, StringComparer.OrdinalIgnoreCase)),
            Names(running.Servers.Keys.Except(next.Servers.Keys, StringComparer.OrdinalIgnoreCase)),
            Names(running.Servers.Keys.Intersect(next.Servers.Keys, StringComparer.OrdinalIgnoreCase)
                .Where(name => running.Servers[name] != next.Servers[name])),
            [.. Kinds.Select(kind => ListenerChange.Of(kind, running.General, next.General)).OfType<ListenerChange>()],
            [.. LiveKeys.Where(key => !key.Same(running.General, next.General)).Select(key => key.Key)],
            needRestart);
    }

    /// <summary>Whether a login made with <paramref name="before"/> and one made with <paramref name="after"/> would ask for tokens the same way.</summary>
    public static bool SameOAuth(AccountOptions before, AccountOptions after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return before.Provider == after.Provider
            && before.ClientId == after.ClientId
            && before.ClientSecret == after.ClientSecret
            && before.Tenant == after.Tenant
            && before.AuthorizeUrl == after.AuthorizeUrl
            && before.TokenUrl == after.TokenUrl
            && before.DeviceCodeUrl == after.DeviceCodeUrl
            && before.Scope == after.Scope
            && before.Flow == after.Flow
            && before.ClientCertificate == after.ClientCertificate
            && before.ClientKey == after.ClientKey
            // Another issuer or cloud is another identity provider, even while their endpoints are not read yet.
            && before.Discovery == after.Discovery
            && before.Cloud == after.Cloud;
    }

    /// <summary>Every key the same (a record compares its lists by reference: allow_identity is compared item by item).</summary>
    public static bool SameAccount(AccountOptions before, AccountOptions after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return before.AllowIdentity.SequenceEqual(after.AllowIdentity, StringComparer.Ordinal)
            && before with { AllowIdentity = [] } == after with { AllowIdentity = [] };
    }

    public bool None =>
        AccountsAdded.Count + AccountsRemoved.Count + AccountsChanged.Count + ServersAdded.Count + ServersRemoved.Count + ServersChanged.Count
        + Listeners.Count + SettingsChanged.Count + NeedRestart.Count == 0;

    /// <summary>"accounts added a2, removed a3, changed a1; servers changed s; IMAP listener moved …; needs a restart: token_dir", or "no changes".</summary>
    public override string ToString()
    {
        if (None)
        {
            return "no changes";
        }
        var parts = new List<string>();
        Group(parts, "accounts", AccountsAdded, AccountsRemoved, AccountsChanged);
        Group(parts, "servers", ServersAdded, ServersRemoved, ServersChanged);
        parts.AddRange(Listeners.Select(listener => listener.ToString()));
        if (SettingsChanged.Count > 0)
        {
            parts.Add($"changed {string.Join(", ", SettingsChanged)}");
        }
        if (NeedRestart.Count > 0)
        {
            parts.Add($"needs a restart: {string.Join(", ", NeedRestart)}");
        }
        return string.Join("; ", parts);
    }

    private static void Group(List<string> parts, string what, IReadOnlyList<string> added, IReadOnlyList<string> removed, IReadOnlyList<string> changed)
    {
        var words = new List<string>();
        if (added.Count > 0)
        {
            words.Add($"added {string.Join(", ", added)}");
        }
        if (removed.Count > 0)
        {
            words.Add($"removed {string.Join(", ", removed)}");
        }
        if (changed.Count > 0)
        {
            words.Add($"changed {string.Join(", ", changed)}");
        }
        if (words.Count > 0)
        {
            parts.Add($"{what} {string.Join(", ", words)}");
        }
    }

    private static List<string> Names(IEnumerable<string> names) => [.. names.Order(StringComparer.OrdinalIgnoreCase)];
}
