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
        var localTls = section.Choice(Keys.LocalTls, ("auto", LocalTlsMode.Auto), ("off", LocalTlsMode.Off));
        var wait = section.Integer(Keys.WaitForAuthorization, 0, 600);
        var certificate = section.Text(Keys.LocalCertificate);
        var key = section.Text(Keys.LocalKey);
        CheckCertificateFiles(section, certificate, key);
        return defaults with
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
            LocalCertificate = certificate,
            LocalKey = key,
            LocalTlsNames = section.Text(Keys.LocalTlsNames)?.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                ?? defaults.LocalTlsNames,
            WaitForAuthorization = wait is null ? defaults.WaitForAuthorization : TimeSpan.FromSeconds(wait.Value),
        };
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
