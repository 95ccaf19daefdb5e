using System.Net;
using EmailProxy.Accounts;
using Microsoft.Extensions.Logging;
using Keys = EmailProxy.Configuration.ConfigKeys.General;

namespace EmailProxy.Configuration;

/// <summary>Reads the <c>[general]</c> section into <see cref="GeneralOptions"/>; an absent key keeps the record's default.</summary>
internal static class GeneralSectionReader
{
    public static GeneralOptions Read(SectionReader section)
    {
        section.WarnUnknownKeys(Keys.All);
        var defaults = new GeneralOptions();
        // Keys are read, and so their problems listed, in the order they always were.
        var redirectUri = ReadRedirectUri(section);
        var logFormat = section.Choice(Keys.LogFormat, ("text", LogFormat.Text), ("json", LogFormat.Json));
        var localTls = ReadTlsMode(section, Keys.LocalTls);
        var imapTls = ReadTlsMode(section, Keys.ImapTls);
        var smtpTls = ReadTlsMode(section, Keys.SmtpTls);
        var popTls = ReadTlsMode(section, Keys.PopTls);
        var wait = section.Integer(Keys.WaitForAuthorization, 0, 600);
        var certificate = section.Text(Keys.LocalCertificate);
        var key = section.Text(Keys.LocalKey);
        CheckCertificateFiles(section, certificate, key);
        var webListen = ReadWebListen(section);
        var adminPassword = ReadAdminPassword(section);
        var metricsToken = ReadMetricsToken(section);
        var tokenStore = section.Choice(Keys.TokenStore, ("file", TokenStoreKind.File), ("redis", TokenStoreKind.Redis)) ?? defaults.TokenStore;
        var redis = ReadRedis(section, tokenStore);
        var general = defaults with
        {
            RedirectUri = redirectUri ?? defaults.RedirectUri,
            LocalServerAuth = section.Boolean(Keys.LocalServerAuth) ?? defaults.LocalServerAuth,
            LogLevel = section.Choice(
                Keys.LogLevel,
                ("trace", LogLevel.Trace),
                ("debug", LogLevel.Debug),
                ("information", LogLevel.Information),
                ("info", LogLevel.Information),
                ("warning", LogLevel.Warning),
                ("warn", LogLevel.Warning),
                ("error", LogLevel.Error)) ?? defaults.LogLevel,
            LogFormat = logFormat ?? defaults.LogFormat,
            ImapListen = section.Listen(Keys.ImapListen, defaults.ImapListen),
            SmtpListen = section.Listen(Keys.SmtpListen, defaults.SmtpListen),
            PopListen = section.Listen(Keys.PopListen, defaults.PopListen),
            TokenDirectory = section.Text(Keys.TokenDir) ?? defaults.TokenDirectory,
            SecretFile = section.Text(Keys.SecretFile) ?? defaults.SecretFile,
            LocalTls = localTls ?? defaults.LocalTls,
            ImapTls = imapTls,
            SmtpTls = smtpTls,
            PopTls = popTls,
            TlsDirectory = section.Text(Keys.TlsDir) ?? defaults.TlsDirectory,
            LocalCertificate = certificate,
            LocalKey = key,
            LocalTlsNames = section.Text(Keys.LocalTlsNames)?.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                ?? defaults.LocalTlsNames,
            WaitForAuthorization = wait is null ? defaults.WaitForAuthorization : TimeSpan.FromSeconds(wait.Value),
            WebListen = webListen,
            AllowOpenRelay = section.Boolean(Keys.AllowOpenRelay) ?? defaults.AllowOpenRelay,
            AdminPassword = adminPassword,
            WebHosts = section.Text(Keys.WebHosts)?.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                ?? defaults.WebHosts,
            MetricsToken = metricsToken,
            TokenStore = tokenStore,
            Redis = redis,
        };
        CheckWebListener(section, general);
        if (general.MetricsToken is not null && general.AdminPassword is null)
        {
            // Never the value: it is a secret.
            section.Warn(Keys.MetricsToken, null, "has no effect without admin_password: /metrics is open like every page (the listener is on loopback)");
        }
        return general;
    }

    private static LocalTlsMode? ReadTlsMode(SectionReader section, string key) =>
        section.Choice(key, LocalTlsModeNames.All);

    private static IPEndPoint? ReadWebListen(SectionReader section)
    {
        var value = section.Text(Keys.WebListen);
        if (value is null)
        {
            return null;
        }
        if (ListenAddress.TryParse(value, out var endPoint))
        {
            return endPoint;
        }
        section.Error(Keys.WebListen, value, "must be host:port, e.g. 127.0.0.1:18089, or 0.0.0.0:18089 in a container (then admin_password is required)");
        return null;
    }

    private static string? ReadAdminPassword(SectionReader section)
    {
        var hash = section.Text(Keys.AdminPassword);
        if (hash is not null && !PasswordVerifier.IsWellFormed(hash))
        {
            // Never the value: it may be the password itself, pasted by mistake.
            section.Error(Keys.AdminPassword, null, "is not a value made by 'emailproxy hash-password'");
            return null;
        }
        return hash;
    }

    /// <summary>The fewest characters a <c>metrics_token</c> may have: a guesser must not find it (32 from <c>openssl rand -hex 16</c> is right).</summary>
    public const int MinimumMetricsTokenLength = 16;

    private static string? ReadMetricsToken(SectionReader section)
    {
        var token = section.Text(Keys.MetricsToken);
        if (token is null)
        {
            return null;
        }
        // Never the value in the message: it is a secret.
        if (token.Length < MinimumMetricsTokenLength || token.Any(c => c is <= ' ' or > '~'))
        {
            section.Error(Keys.MetricsToken, null,
                $"must be at least {MinimumMetricsTokenLength} printable ASCII characters without spaces (a bearer token a scraper sends), e.g. the output of 'openssl rand -hex 16'");
            return null;
        }
        return token;
    }

    /// <summary>
    /// <c>redis</c>: required with <c>token_store = redis</c>, parsed as StackExchange.Redis parses it (so a
    /// mistake is found by <c>check</c>, not at the first login); ignored, with a warning, with the file store.
    /// The value is never repeated in a message: it may carry the password.
    /// </summary>
    private static string? ReadRedis(SectionReader section, TokenStoreKind tokenStore)
    {
        var value = section.Text(Keys.Redis);
        if (tokenStore != TokenStoreKind.Redis)
        {
            if (value is not null)
            {
                section.Warn(Keys.Redis, null, "has no effect: token_store is file (set token_store = redis to keep the tokens in Redis)");
            }
            return null;
        }
        if (value is null)
        {
            section.Error(Keys.TokenStore, "redis", "needs redis = host:port (a StackExchange.Redis connection string, e.g. redis.internal:6379,ssl=true; the password may come from $EMAILPROXY_REDIS_PASSWORD)");
            return null;
        }
        if (Redis.RedisConnection.ProblemWith(value) is { } problem)
        {
            section.Error(Keys.Redis, null, problem);
            return null;
        }
        return value;
    }

    /// <summary>
    /// The HTTP listener off loopback serves the status page and the sign-in links to the network:
    /// that needs <c>admin_password</c>. A redirect_uri host name binds loopback only (see
    /// <see cref="WebListenAddress"/>), which is said, since a browser elsewhere then cannot connect.
    /// </summary>
    private static void CheckWebListener(SectionReader section, GeneralOptions general)
    {
        var web = WebListenAddress.Of(general);
        var (key, value) = general.WebListen is not null
            ? (Keys.WebListen, section.Text(Keys.WebListen))
            : (Keys.RedirectUri, general.RedirectUri.OriginalString);
        if (!web.IsLoopback && general.AdminPassword is null && section.Text(Keys.AdminPassword) is null)
        {
            section.Error(key, value,
                $"the HTTP listener on {web} is reachable from other machines, so admin_password is required: set admin_password = <the output of 'emailproxy hash-password'>, or listen on loopback (web_listen = 127.0.0.1:{web.Port})");
        }
        if (web.FromHostName)
        {
            section.Warn(Keys.RedirectUri, general.RedirectUri.OriginalString,
                $"its host is a name, so the HTTP listener binds 127.0.0.1:{web.Port} (loopback) only; if browsers on other machines must reach it, set web_listen (e.g. web_listen = 0.0.0.0:{web.Port}, with admin_password)");
        }
    }

    private static Uri? ReadRedirectUri(SectionReader section)
    {
        var value = section.Text(Keys.RedirectUri);
        if (value is null)
        {
            return null;
        }
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            section.Error(Keys.RedirectUri, value, "must be an absolute http:// URL such as http://127.0.0.1:18089");
            return null;
        }
        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            section.Warn(Keys.RedirectUri, value, "the proxy serves the redirect over plain HTTP: https:// works only behind a TLS-terminating reverse proxy");
        }
        return uri;
    }

    private static void CheckCertificateFiles(SectionReader section, string? certificate, string? key)
    {
        if ((certificate is null) != (key is null))
        {
            section.Error(certificate is null ? Keys.LocalCertificate : Keys.LocalKey, null,
                "is needed too: local_certificate and local_key go together (or leave both out for a generated certificate)");
        }
        foreach (var (name, file) in new[] { (Keys.LocalCertificate, certificate), (Keys.LocalKey, key) })
        {
            if (file is not null && !File.Exists(section.Resolve(file)))
            {
                section.Error(name, file, "no such file");
            }
        }
    }
}
