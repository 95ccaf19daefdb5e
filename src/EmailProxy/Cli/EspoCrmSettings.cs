using System.Globalization;
using System.Net;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;

namespace EmailProxy.Cli;

/// <summary>
/// The text of <c>emailproxy espocrm</c>: what to type into EspoCRM's personal and group email
/// account screens for each account, the <c>emailServerAllowedAddressList</c> line for its
/// <c>data/config.php</c> (9.3.2 and later refuse internal mail hosts unless listed), and how to make
/// its container trust the proxy's CA when a listener it uses has local TLS. The advice follows each
/// listener's mode (<see cref="GeneralOptions.TlsOf"/>) and what EspoCRM does (PROTOCOL-NOTES.md): it
/// always verifies certificates, so TLS needs the CA installed; its IMAP speaks plaintext when
/// Security is None; its SMTP (Symfony Mailer) upgrades with STARTTLS whenever the server offers it
/// (<c>starttls</c> mode), whatever Security says, and stays in plaintext where it is not offered
/// (<c>auto</c>, <c>off</c>). Nothing secret is printed: the password line only says which password is wanted.
/// </summary>
internal static class EspoCrmSettings
{
    /// <summary>What to type for a listener on every address: no one address is right for every EspoCRM.</summary>
    public const string WildcardHost = "this machine's address, or the compose service name (mail-proxy)";

    /// <summary>The host put in the allowed-address list for a listener on every address.</summary>
    public const string ComposeServiceName = "mail-proxy";

    /// <summary>Where the CA goes in a Debian-based EspoCRM container (update-ca-certificates reads *.crt there).</summary>
    public const string ContainerCaPath = "/usr/local/share/ca-certificates/emailproxy.crt";

    public static string Describe(ProxyConfig config, IEnumerable<AccountOptions> accounts)
    {
        var general = config.General;
        var imapTls = general.TlsOf(MailListenerKind.Imap);
        var smtpTls = general.TlsOf(MailListenerKind.Smtp);
        var tlsOn = (general.ImapListen is not null && imapTls != LocalTlsMode.Off) || (general.SmtpListen is not null && smtpTls != LocalTlsMode.Off);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"EspoCRM settings for {config.ConfigPath}");
        foreach (var account in accounts)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"[account {account.Name}]: Email Accounts (personal) or Administration > Group Email Accounts (group)");
            text.AppendLine(CultureInfo.InvariantCulture, $"  Email Address:   {account.Username}");
            var password = account.PasswordHash is null
                ? "any password (the account has no password_hash)"
                : "the password whose hash is this account's password_hash (the one given to 'emailproxy hash-password')";
            text.AppendLine("  IMAP (incoming)");
            if (general.ImapListen is { } imap)
            {
                Field(text, "Host", Host(imap.Address));
                Field(text, "Port", imap.Port.ToString(CultureInfo.InvariantCulture));
                Field(text, "Security", ImapSecurity(imapTls, general.ImapTls is null ? ConfigKeys.General.LocalTls : ConfigKeys.General.ImapTls, ListenAddress.IsLoopback(imap.Address)));
                Field(text, "Username", account.Name);
                Field(text, "Password", password);
            }
            else
            {
                text.AppendLine("    off: imap_listen is empty, so EspoCRM cannot fetch mail through the proxy");
            }
            text.AppendLine("  SMTP (outgoing; tick Use SMTP)");
            if (general.SmtpListen is { } smtp)
            {
                Field(text, "SMTP Host", Host(smtp.Address));
                Field(text, "SMTP Port", smtp.Port.ToString(CultureInfo.InvariantCulture));
                Field(text, "SMTP Security", SmtpSecurity(smtpTls, general.SmtpTls is null ? ConfigKeys.General.LocalTls : ConfigKeys.General.SmtpTls));
                Field(text, "SMTP Auth", "yes");
                Field(text, "Auth Mechanism", "LOGIN (EspoCRM's default) or PLAIN; not CRAM-MD5");
                Field(text, "SMTP Username", account.Name);
                Field(text, "SMTP Password", password);
            }
            else
            {
                text.AppendLine("    off: smtp_listen is empty, so EspoCRM cannot send through the proxy");
            }
        }

        var allowed = new[] { general.ImapListen, general.SmtpListen }
            .OfType<IPEndPoint>()
            .Select(e => $"'{AllowedEntry(e)}'")
            .ToList();
        if (allowed.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("EspoCRM 9.3.2 and later refuse internal mail hosts unless listed: in EspoCRM's data/config.php put");
            text.AppendLine(CultureInfo.InvariantCulture, $"  'emailServerAllowedAddressList' => [{string.Join(", ", allowed)}],");
            if (new[] { general.ImapListen, general.SmtpListen }.Any(e => e is not null && IsWildcard(e.Address)))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  ({ComposeServiceName} stands for the host typed above: put this machine's address instead if that is what EspoCRM uses.)");
            }
        }

        if (new[] { general.ImapListen, general.SmtpListen }.Any(e => e is not null && ListenAddress.IsLoopback(e.Address)))
        {
            text.AppendLine();
            text.AppendLine("A loopback host reaches the proxy only from EspoCRM on this machine: from another container it is that container itself. "
                + "For EspoCRM in its own container, listen on the shared network (e.g. imap_listen = 0.0.0.0:1993, with password_hash on each account).");
        }

        text.AppendLine();
        if (tlsOn)
        {
            if (general.LocalCertificate is { } certificate)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"Local TLS is on with local_certificate = {certificate}: for SSL/TLS or STARTTLS, EspoCRM must trust the CA that issued it; install that CA as below.");
            }
            else
            {
                var caPath = Path.Combine(config.TlsDirectory, LocalCertificateStore.CaCertificateFile);
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"Local TLS is on ({(general.ImapTls is null && general.SmtpTls is null ? $"local_tls = {LocalTlsModeNames.Of(general.LocalTls)}" : $"imap_tls = {LocalTlsModeNames.Of(imapTls)}, smtp_tls = {LocalTlsModeNames.Of(smtpTls)}")}): for SSL/TLS or STARTTLS, EspoCRM must trust the proxy's CA, {caPath} (made at the proxy's first start). In EspoCRM's container:");
                text.AppendLine(CultureInfo.InvariantCulture, $"  docker cp {caPath} ESPOCRM_CONTAINER:{ContainerCaPath}");
                text.AppendLine("  docker exec -u root ESPOCRM_CONTAINER update-ca-certificates");
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  (without Docker: copy it to {ContainerCaPath} on EspoCRM's machine and run update-ca-certificates as root). Plaintext without a CA: Security None with local_tls = auto (or off).");
            }
        }
        else
        {
            text.AppendLine("Local TLS is off (local_tls = off): plaintext only, no CA to install; keep the mail listeners on loopback or a private network.");
        }
        return text.ToString();
    }

    /// <summary>EspoCRM's IMAP Security for the listener's mode.</summary>
    private static string ImapSecurity(LocalTlsMode mode, string key, bool loopback) => mode switch
    {
        LocalTlsMode.Off => $"None ({key} = off: plaintext only)",
        LocalTlsMode.Implicit => $"SSL/TLS ({key} = implicit: TLS only, so EspoCRM must trust the CA below)",
        LocalTlsMode.StartTls => $"STARTTLS ({key} = starttls: EspoCRM must trust the CA below; for plaintext without a CA, set imap_tls = auto)",
        _ when loopback => "None (plaintext, works without any CA; SSL/TLS works on the same port once EspoCRM trusts the CA below)",
        _ => "None works without any CA, but this port is reachable from other machines: SSL/TLS (same port) keeps the password and mail off the wire once EspoCRM trusts the CA below",
    };

    /// <summary>EspoCRM's SMTP Security for the listener's mode: Symfony Mailer takes STARTTLS whenever it is offered.</summary>
    private static string SmtpSecurity(LocalTlsMode mode, string key) => mode switch
    {
        LocalTlsMode.Off => $"None ({key} = off: plaintext only)",
        LocalTlsMode.Implicit => $"SSL/TLS ({key} = implicit: TLS only, so EspoCRM must trust the CA below)",
        LocalTlsMode.StartTls => $"STARTTLS ({key} = starttls: the proxy offers STARTTLS and EspoCRM takes it whatever this field says, so EspoCRM must trust the CA below; for plaintext without a CA, set smtp_tls = auto)",
        _ => "None (plaintext, works without any CA: the proxy does not offer STARTTLS; SSL/TLS works on the same port once EspoCRM trusts the CA below)",
    };

    private static void Field(StringBuilder text, string name, string value) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"    {name + ":",-17}{value}");

    private static bool IsWildcard(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    private static string Host(IPAddress address) => IsWildcard(address) ? WildcardHost : address.ToString();

    private static string AllowedEntry(IPEndPoint endPoint) => IsWildcard(endPoint.Address)
        ? $"{ComposeServiceName}:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}"
        : endPoint.ToString();
}
