using System.Collections.Frozen;
using System.Reflection;

namespace EmailProxy.Configuration;

/// <summary>
/// Every section and key name of the configuration file, in one place. The section readers read each
/// key by its constant here, and the "unknown key" warning knows a key by the same constants
/// (<see cref="General.All"/> and its siblings are made from them): a key added here is known and read
/// with one line, and there is no second list to forget.
/// </summary>
internal static class ConfigKeys
{
    public const string GeneralSection = "general";
    public const string ServerSection = "server";
    public const string AccountSection = "account";

    /// <summary>The <c>[general]</c> section.</summary>
    public static class General
    {
        public const string RedirectUri = "redirect_uri";
        public const string LocalServerAuth = "local_server_auth";
        public const string LogLevel = "log_level";
        public const string LogFormat = "log_format";
        public const string ImapListen = "imap_listen";
        public const string SmtpListen = "smtp_listen";
        public const string PopListen = "pop_listen";
        public const string TokenDir = "token_dir";
        public const string SecretFile = "secret_file";
        public const string LocalTls = "local_tls";
        public const string ImapTls = "imap_tls";
        public const string SmtpTls = "smtp_tls";
        public const string PopTls = "pop_tls";
        public const string TlsDir = "tls_dir";
        public const string LocalCertificate = "local_certificate";
        public const string LocalKey = "local_key";
        public const string LocalTlsNames = "local_tls_names";
        public const string WaitForAuthorization = "wait_for_authorization";
        public const string WebListen = "web_listen";
        public const string AllowOpenRelay = "allow_open_relay";
        public const string AdminPassword = "admin_password";
        public const string WebHosts = "web_hosts";
        public const string MetricsToken = "metrics_token";
        public const string TokenStore = "token_store";
        public const string Redis = "redis";

        public static readonly FrozenSet<string> All = ConstantsOf(typeof(General));

        /// <summary>The key of one mail listener's own local TLS mode (<c>imap_tls</c>…).</summary>
        public static string TlsKeyOf(MailListenerKind listener) => listener switch
        {
            MailListenerKind.Imap => ImapTls,
            MailListenerKind.Smtp => SmtpTls,
            MailListenerKind.Pop => PopTls,
            _ => throw new ArgumentOutOfRangeException(nameof(listener)),
        };
    }

    /// <summary>A <c>[server NAME]</c> section.</summary>
    public static class Server
    {
        public const string ImapHost = "imap_host";
        public const string ImapPort = "imap_port";
        public const string SmtpHost = "smtp_host";
        public const string SmtpPort = "smtp_port";
        public const string PopHost = "pop_host";
        public const string PopPort = "pop_port";
        public const string Ssl = "ssl";
        public const string StartTls = "starttls";
        public const string CaFile = "ca_file";

        public static readonly FrozenSet<string> All = ConstantsOf(typeof(Server));
    }

    /// <summary>An <c>[account NAME]</c> section.</summary>
    public static class Account
    {
        public const string Username = "username";
        public const string Server = "server";
        public const string Provider = "provider";
        public const string ClientId = "client_id";
        public const string ClientSecret = "client_secret";
        public const string Tenant = "tenant";
        public const string Authority = "authority";
        public const string AuthorizeUrl = "authorize_url";
        public const string TokenUrl = "token_url";
        public const string DeviceCodeUrl = "device_code_url";
        public const string Scope = "scope";
        public const string Flow = "flow";
        public const string PasswordHash = "password_hash";
        public const string ClientCertificate = "client_certificate";
        public const string ClientKey = "client_key";
        public const string AllowIdentity = "allow_identity";
        public const string SmtpVia = "smtp_via";
        public const string GraphUrl = "graph_url";
        public const string GraphScope = "graph_scope";
        public const string GraphSaveToSentItems = "graph_save_to_sent_items";

        // Shared mailboxes and templates (issue 17, items 4-5).
        public const string TokenFrom = "token_from";
        public const string MaxAccounts = "max_accounts";
        // Providers, clouds, discovery and the upstream mechanism (issue 17).
        public const string Cloud = "cloud";
        public const string Issuer = "issuer";
        public const string Sasl = "sasl";

        public static readonly FrozenSet<string> All = ConstantsOf(typeof(Account));
    }

    /// <summary>The values of the string constants a class declares: its key names (case-insensitive, as the file is).</summary>
    private static FrozenSet<string> ConstantsOf(Type keys) =>
        keys.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.IsLiteral && field.FieldType == typeof(string))
            .Select(field => (string)field.GetRawConstantValue()!)
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
}
