using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Configuration;

/// <summary>
/// Reads the INI file with Microsoft.Extensions.Configuration.Ini into <see cref="ProxyConfig"/>,
/// applying defaults and collecting every problem (not only the first) with its section and key.
/// </summary>
internal static class ConfigReader
{
    private const string MicrosoftAuthority = "https://login.microsoftonline.com";
    private const string MicrosoftScope =
        "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";
    private const string GoogleScope = "https://mail.google.com/";

    private static readonly string[] GeneralKeys =
    [
        "redirect_uri", "local_server_auth", "log_level", "log_format", "imap_listen", "smtp_listen", "pop_listen",
        "token_dir", "secret_file", "local_tls", "local_certificate", "local_key", "local_tls_names", "wait_for_authorization",
    ];

    private static readonly string[] ServerKeys =
        ["imap_host", "imap_port", "smtp_host", "smtp_port", "pop_host", "pop_port", "ssl", "starttls", "ca_file"];

    private static readonly string[] AccountKeys =
    [
        "username", "server", "provider", "client_id", "client_secret", "tenant", "authority", "authorize_url",
        "token_url", "device_code_url", "scope", "flow", "password_hash",
    ];

    public static ConfigReadResult ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return Fail(new ConfigProblem("file", null, null, $"the configuration file '{path}' does not exist (use --config PATH or $EMAILPROXY_CONFIG)"));
        }
        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder().AddIniFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return Fail(new ConfigProblem("file", null, null, $"'{path}' cannot be read as an INI file: {e.InnerException?.Message ?? e.Message}"));
        }
        return Read(root, path);
    }

    public static ConfigReadResult Read(IConfiguration configuration, string path)
    {
        var reader = new Reader(path);
        return reader.Run(configuration);
    }

    private static ConfigReadResult Fail(ConfigProblem problem) => new(null, [problem], []);

    private sealed class Reader(string path)
    {
        private readonly List<ConfigProblem> _errors = [];
        private readonly List<ConfigProblem> _warnings = [];

        public ConfigReadResult Run(IConfiguration configuration)
        {
            GeneralOptions general = new();
            var servers = new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase);
            var accountSections = new List<(string Name, IConfigurationSection Section)>();

            foreach (var section in configuration.GetChildren())
            {
                var (kind, name) = SplitSectionName(section.Key);
                if (kind.Equals(GeneralOptions.SectionName, StringComparison.OrdinalIgnoreCase) && name.Length == 0)
                {
                    general = ReadGeneral(section);
                }
                else if (kind.Equals(ServerOptions.SectionPrefix, StringComparison.OrdinalIgnoreCase) && name.Length > 0)
                {
                    if (!servers.TryAdd(name, ReadServer(section, name)))
                    {
                        _errors.Add(new(section.Key, null, null, $"there is a second [server {name}] section (names are case-insensitive)"));
                    }
                }
                else if (kind.Equals(AccountOptions.SectionPrefix, StringComparison.OrdinalIgnoreCase) && name.Length > 0)
                {
                    accountSections.Add((name, section));
                }
                else if (section.Value is not null)
                {
                    _warnings.Add(new("file", section.Key, null, "a key outside any section is ignored"));
                }
                else
                {
                    _warnings.Add(new(section.Key, null, null, "unknown section, ignored (expected [general], [server NAME] or [account NAME])"));
                }
            }

            var accounts = new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, section) in accountSections)
            {
                var account = ReadAccount(section, name, servers);
                if (account is null)
                {
                    continue;
                }
                if (!accounts.TryAdd(name, account))
                {
                    _errors.Add(new(section.Key, null, null, $"there is a second [account {name}] section (login names are case-insensitive)"));
                }
            }
            if (accounts.Count == 0)
            {
                _warnings.Add(new("file", null, null, "no [account NAME] section: every login will be refused until one is added"));
            }

            var config = new ProxyConfig(path, general, servers, accounts);
            return new ConfigReadResult(_errors.Count == 0 ? config : null, _errors, _warnings);
        }

        private GeneralOptions ReadGeneral(IConfigurationSection section)
        {
            WarnUnknownKeys(section, GeneralKeys);
            var defaults = new GeneralOptions();
            var redirect = Text(section, "redirect_uri");
            var redirectUri = defaults.RedirectUri;
            if (redirect is not null)
            {
                if (Uri.TryCreate(redirect, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    redirectUri = uri;
                    if (uri.Scheme == Uri.UriSchemeHttps)
                    {
                        _warnings.Add(new(section.Key, "redirect_uri", redirect, "the proxy serves the redirect over plain HTTP: https:// works only behind a TLS-terminating reverse proxy"));
                    }
                }
                else
                {
                    Error(section, "redirect_uri", redirect, "must be an absolute http:// URL such as http://127.0.0.1:18089");
                }
            }
            var logFormat = Choice(section, "log_format", ["text", "json"]) ?? defaults.LogFormat;
            var localTls = Choice(section, "local_tls", ["auto", "off"]) ?? defaults.LocalTls;
            var wait = Integer(section, "wait_for_authorization", 0, 600);
            var certificate = Text(section, "local_certificate");
            var key = Text(section, "local_key");
            if ((certificate is null) != (key is null))
            {
                Error(section, certificate is null ? "local_certificate" : "local_key", null, "is needed too: local_certificate and local_key go together (or leave both out for a generated certificate)");
            }
            foreach (var (name, file) in new[] { ("local_certificate", certificate), ("local_key", key) })
            {
                if (file is not null && !File.Exists(Resolve(file)))
                {
                    Error(section, name, file, "no such file");
                }
            }
            return defaults with
            {
                RedirectUri = redirectUri,
                LocalServerAuth = Boolean(section, "local_server_auth") ?? defaults.LocalServerAuth,
                LogLevel = ReadLogLevel(section) ?? defaults.LogLevel,
                LogFormat = logFormat,
                ImapListen = Listen(section, "imap_listen", defaults.ImapListen),
                SmtpListen = Listen(section, "smtp_listen", defaults.SmtpListen),
                PopListen = Listen(section, "pop_listen", defaults.PopListen),
                TokenDirectory = Text(section, "token_dir") ?? defaults.TokenDirectory,
                SecretFile = Text(section, "secret_file") ?? defaults.SecretFile,
                LocalTls = localTls,
                LocalCertificate = certificate,
                LocalKey = key,
                LocalTlsNames = (Text(section, "local_tls_names") ?? "")
                    .Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                WaitForAuthorization = wait is null ? defaults.WaitForAuthorization : TimeSpan.FromSeconds(wait.Value),
            };
        }

        private LogLevel? ReadLogLevel(IConfigurationSection section)
        {
            var value = Choice(section, "log_level", ["trace", "debug", "information", "info", "warning", "warn", "error"]);
            return value switch
            {
                null => null,
                "trace" => LogLevel.Trace,
                "debug" => LogLevel.Debug,
                "information" or "info" => LogLevel.Information,
                "warning" or "warn" => LogLevel.Warning,
                _ => LogLevel.Error,
            };
        }

        private ServerOptions ReadServer(IConfigurationSection section, string name)
        {
            WarnUnknownKeys(section, ServerKeys);
            var server = new ServerOptions(name)
            {
                ImapHost = Text(section, "imap_host"),
                ImapPort = Integer(section, "imap_port", 1, 65535) ?? 993,
                SmtpHost = Text(section, "smtp_host"),
                SmtpPort = Integer(section, "smtp_port", 1, 65535) ?? 587,
                PopHost = Text(section, "pop_host"),
                PopPort = Integer(section, "pop_port", 1, 65535) ?? 995,
                Ssl = Boolean(section, "ssl") ?? true,
                StartTls = Boolean(section, "starttls") ?? true,
                CaFile = ReadCaFile(section),
            };
            if (server.ImapHost is null && server.SmtpHost is null && server.PopHost is null)
            {
                _errors.Add(new(section.Key, "imap_host", null, "is missing (and so are smtp_host and pop_host): the server names no host"));
            }
            return server;
        }

        private string? ReadCaFile(IConfigurationSection section)
        {
            var value = Text(section, "ca_file");
            if (value is null)
            {
                return null;
            }
            var full = Resolve(value);
            try
            {
                var bundle = new X509Certificate2Collection();
                bundle.ImportFromPemFile(full);
                if (bundle.Count == 0)
                {
                    Error(section, "ca_file", value, "holds no PEM certificate");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                Error(section, "ca_file", value, $"cannot be read as a PEM bundle: {e.Message}");
            }
            return full;
        }

        private AccountOptions? ReadAccount(IConfigurationSection section, string name, Dictionary<string, ServerOptions> servers)
        {
            WarnUnknownKeys(section, AccountKeys);
            var errorsBefore = _errors.Count;

            var serverName = Text(section, "server");
            if (serverName is null)
            {
                if (servers.Count == 1)
                {
                    serverName = servers.Keys.First();
                }
                else
                {
                    Error(section, "server", null, servers.Count == 0
                        ? "is needed, and there is no [server NAME] section to point it at"
                        : $"is needed when there are several [server] sections ({string.Join(", ", servers.Keys)})");
                }
            }
            else if (!servers.ContainsKey(serverName))
            {
                Error(section, "server", serverName, $"there is no [server {serverName}] section");
            }

            var clientId = Text(section, "client_id");
            if (clientId is null)
            {
                Error(section, "client_id", null, "is required: the application (client) id of the app registration");
            }

            var provider = Choice(section, "provider", ["microsoft", "google", "generic"]) switch
            {
                "google" => OAuthProvider.Google,
                "generic" => OAuthProvider.Generic,
                _ => OAuthProvider.Microsoft,
            };
            var flow = Choice(section, "flow", ["authorization_code", "device_code", "client_credentials"]) switch
            {
                "device_code" => OAuthFlow.DeviceCode,
                "client_credentials" => OAuthFlow.ClientCredentials,
                _ => OAuthFlow.AuthorizationCode,
            };
            var clientSecret = Text(section, "client_secret");
            if (flow == OAuthFlow.ClientCredentials && clientSecret is null)
            {
                Error(section, "client_secret", null, "is required with flow = client_credentials");
            }
            if (flow != OAuthFlow.AuthorizationCode)
            {
                _warnings.Add(new(section.Key, "flow", Text(section, "flow"), "this flow is not available in this version yet; logins for this account will be refused"));
            }

            var tenant = Text(section, "tenant") ?? "common";
            var authority = Url(section, "authority");
            if (authority is not null && provider != OAuthProvider.Microsoft)
            {
                _warnings.Add(new(section.Key, "authority", authority.OriginalString, "is only used with provider = microsoft"));
            }
            var msBase = $"{(authority?.OriginalString ?? MicrosoftAuthority).TrimEnd('/')}/{Uri.EscapeDataString(tenant)}/oauth2/v2.0";
            var authorizeUrl = Url(section, "authorize_url") ?? provider switch
            {
                OAuthProvider.Microsoft => new Uri($"{msBase}/authorize"),
                OAuthProvider.Google => new Uri("https://accounts.google.com/o/oauth2/v2/auth"),
                _ => null,
            };
            var tokenUrl = Url(section, "token_url") ?? provider switch
            {
                OAuthProvider.Microsoft => new Uri($"{msBase}/token"),
                OAuthProvider.Google => new Uri("https://oauth2.googleapis.com/token"),
                _ => null,
            };
            var deviceUrl = Url(section, "device_code_url") ?? provider switch
            {
                OAuthProvider.Microsoft => new Uri($"{msBase}/devicecode"),
                OAuthProvider.Google => new Uri("https://oauth2.googleapis.com/device/code"),
                _ => null,
            };
            if (authorizeUrl is null && flow == OAuthFlow.AuthorizationCode)
            {
                Error(section, "authorize_url", null, "is required with provider = generic");
            }
            if (tokenUrl is null)
            {
                Error(section, "token_url", null, "is required with provider = generic");
            }

            var scope = Text(section, "scope") ?? provider switch
            {
                OAuthProvider.Microsoft => MicrosoftScope,
                OAuthProvider.Google => GoogleScope,
                _ => null,
            };
            if (scope is null)
            {
                Error(section, "scope", null, "is required with provider = generic");
            }

            var hash = Text(section, "password_hash");
            if (hash is not null && !Accounts.PasswordVerifier.IsWellFormed(hash))
            {
                Error(section, "password_hash", null, "is not a value made by 'emailproxy hash-password'");
            }

            if (_errors.Count != errorsBefore)
            {
                return null;
            }
            return new AccountOptions(name)
            {
                Username = Text(section, "username") ?? name,
                ServerName = serverName!,
                Provider = provider,
                ClientId = clientId!,
                ClientSecret = clientSecret,
                Tenant = tenant,
                AuthorizeUrl = authorizeUrl ?? tokenUrl!,
                TokenUrl = tokenUrl!,
                DeviceCodeUrl = deviceUrl,
                Scope = scope!,
                Flow = flow,
                PasswordHash = hash,
            };
        }

        private Uri? Url(IConfigurationSection section, string key)
        {
            var value = Text(section, key);
            if (value is null)
            {
                return null;
            }
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                Error(section, key, value, "must be an absolute https:// URL");
                return null;
            }
            if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
            {
                Error(section, key, value, "plain http:// is only allowed for loopback hosts; use https://");
                return null;
            }
            return uri;
        }

        private IPEndPoint? Listen(IConfigurationSection section, string key, IPEndPoint? fallback)
        {
            var raw = section[key];
            if (raw is null)
            {
                return fallback;
            }
            var value = raw.Trim();
            if (value.Length == 0 || value.Equals("off", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            if (ListenAddress.TryParse(value, out var endPoint))
            {
                return endPoint;
            }
            Error(section, key, value, "must be host:port, e.g. 127.0.0.1:1993 or [::1]:1993 (empty turns it off)");
            return fallback;
        }

        private string? Choice(IConfigurationSection section, string key, string[] allowed)
        {
            var value = Text(section, key);
            if (value is null)
            {
                return null;
            }
            var lower = value.ToLowerInvariant();
            if (allowed.Contains(lower))
            {
                return lower;
            }
            Error(section, key, value, $"must be one of {string.Join(", ", allowed)}");
            return null;
        }

        private bool? Boolean(IConfigurationSection section, string key)
        {
            var value = Text(section, key);
            switch (value?.ToLowerInvariant())
            {
                case null:
                    return null;
                case "true" or "yes" or "on" or "1":
                    return true;
                case "false" or "no" or "off" or "0":
                    return false;
                default:
                    Error(section, key, value, "must be true or false");
                    return null;
            }
        }

        private int? Integer(IConfigurationSection section, string key, int min, int max)
        {
            var value = Text(section, key);
            if (value is null)
            {
                return null;
            }
            if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
            {
                return number;
            }
            Error(section, key, value, $"must be a whole number from {min} to {max}");
            return null;
        }

        private static string? Text(IConfigurationSection section, string key)
        {
            var value = section[key]?.Trim();
            return string.IsNullOrEmpty(value) ? null : value;
        }

        private string Resolve(string value) =>
            Path.GetFullPath(value, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");

        private void WarnUnknownKeys(IConfigurationSection section, string[] known)
        {
            foreach (var child in section.GetChildren())
            {
                if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    _warnings.Add(new(section.Key, child.Key, null, "unknown key, ignored"));
                }
            }
        }

        private void Error(IConfigurationSection section, string key, string? value, string message) =>
            _errors.Add(new(section.Key, key, value, message));

        private static (string Kind, string Name) SplitSectionName(string key)
        {
            var trimmed = key.Trim();
            var space = trimmed.IndexOfAny([' ', '\t']);
            return space < 0 ? (trimmed, "") : (trimmed[..space], trimmed[(space + 1)..].Trim());
        }
    }
}
