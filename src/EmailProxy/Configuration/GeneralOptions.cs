using System.Net;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Configuration;

/// <summary>The <c>[general]</c> section, with the default of every key.</summary>
internal sealed record GeneralOptions
{
    public Uri RedirectUri { get; init; } = new("http://127.0.0.1:18089");
    public bool LocalServerAuth { get; init; } = true;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
    public LogFormat LogFormat { get; init; } = LogFormat.Text;
    public IPEndPoint? ImapListen { get; init; } = new(IPAddress.Loopback, 1993);
    public IPEndPoint? SmtpListen { get; init; } = new(IPAddress.Loopback, 1587);
    public IPEndPoint? PopListen { get; init; }
    public string TokenDirectory { get; init; } = "tokens";
    public string SecretFile { get; init; } = "emailproxy.key";
    public LocalTlsMode LocalTls { get; init; } = LocalTlsMode.Auto;

    /// <summary><c>imap_tls</c>; null: <see cref="LocalTls"/>. Read through <see cref="TlsOf"/>.</summary>
    public LocalTlsMode? ImapTls { get; init; }

    /// <summary><c>smtp_tls</c>; null: <see cref="LocalTls"/>. Read through <see cref="TlsOf"/>.</summary>
    public LocalTlsMode? SmtpTls { get; init; }

    /// <summary><c>pop_tls</c>; null: <see cref="LocalTls"/>. Read through <see cref="TlsOf"/>.</summary>
    public LocalTlsMode? PopTls { get; init; }

    /// <summary><c>tls_dir</c> as written: where the generated CA and server certificate live, relative to the config file's folder.</summary>
    public string TlsDirectory { get; init; } = "tls";
    public string? LocalCertificate { get; init; }
    public string? LocalKey { get; init; }
    public IReadOnlyList<string> LocalTlsNames { get; init; } = [];
    public TimeSpan WaitForAuthorization { get; init; } = TimeSpan.Zero;

    /// <summary><c>web_listen</c> as written; null: derived from <see cref="RedirectUri"/> (see <see cref="WebListenAddress.Of"/>).</summary>
    public IPEndPoint? WebListen { get; init; }

    /// <summary>Whether a mail listener off loopback may serve accounts without <c>password_hash</c> (see <see cref="ListenerExposure"/>).</summary>
    public bool AllowOpenRelay { get; init; }

    /// <summary>A <c>password_hash</c> value guarding the HTTP listener's pages; required when it listens off loopback.</summary>
    public string? AdminPassword { get; init; }

    /// <summary><c>web_hosts</c>: Host names the HTTP listener answers to besides its own (see <see cref="Web.HostHeaderCheck"/>).</summary>
    public IReadOnlyList<string> WebHosts { get; init; } = [];

    /// <summary><c>metrics_token</c>: a bearer token that lets a scraper read <c>/metrics</c> without <see cref="AdminPassword"/> (see <see cref="Web.MetricsEndpoint"/>). A secret: never logged.</summary>
    public string? MetricsToken { get; init; }

    /// <summary><c>token_store</c>: where the accounts' tokens are kept (<see cref="TokenStoreKind.Redis"/>: several proxies share them).</summary>
    public TokenStoreKind TokenStore { get; init; } = TokenStoreKind.File;

    /// <summary>
    /// <c>redis</c>: a StackExchange.Redis connection string (<c>host:port,password=…,ssl=true</c>), read when
    /// <see cref="TokenStore"/> is <see cref="TokenStoreKind.Redis"/>. It may hold a password: never logged or shown.
    /// </summary>
    public string? Redis { get; init; }

    /// <summary>The local TLS of one mail listener: its own key, else <c>local_tls</c>.</summary>
    public LocalTlsMode TlsOf(MailListenerKind listener) => listener switch
    {
        MailListenerKind.Imap => ImapTls ?? LocalTls,
        MailListenerKind.Smtp => SmtpTls ?? LocalTls,
        MailListenerKind.Pop => PopTls ?? LocalTls,
        _ => throw new ArgumentOutOfRangeException(nameof(listener)),
    };

    /// <summary>The address of one mail listener (<c>imap_listen</c>…), or null when it is off.</summary>
    public IPEndPoint? ListenOf(MailListenerKind listener) => listener switch
    {
        MailListenerKind.Imap => ImapListen,
        MailListenerKind.Smtp => SmtpListen,
        MailListenerKind.Pop => PopListen,
        _ => throw new ArgumentOutOfRangeException(nameof(listener)),
    };

    /// <summary>Whether any mail listener that is on uses local TLS (then a certificate is needed).</summary>
    public bool AnyLocalTls =>
        Enum.GetValues<MailListenerKind>().Any(listener => ListenOf(listener) is not null && TlsOf(listener) != LocalTlsMode.Off);

    /// <summary>Never the admin password's hash or the metrics token (a record would print every property).</summary>
    public override string ToString() =>
        $"GeneralOptions {{ RedirectUri = {RedirectUri}, LocalServerAuth = {LocalServerAuth}, AdminPassword = {(AdminPassword is null ? "none" : "set")}, MetricsToken = {(MetricsToken is null ? "none" : "set")} }}";
}
