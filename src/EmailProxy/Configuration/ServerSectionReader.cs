using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Keys = EmailProxy.Configuration.ConfigKeys.Server;

namespace EmailProxy.Configuration;

/// <summary>Reads a <c>[server NAME]</c> section into <see cref="ServerOptions"/>; an absent key keeps the record's default.</summary>
internal static class ServerSectionReader
{
    public static ServerOptions Read(SectionReader section, string name)
    {
        section.WarnUnknownKeys(Keys.All);
        var defaults = new ServerOptions(name);
        var server = defaults with
        {
            ImapHost = section.Text(Keys.ImapHost),
            ImapPort = section.Integer(Keys.ImapPort, 1, 65535) ?? defaults.ImapPort,
            SmtpHost = section.Text(Keys.SmtpHost),
            SmtpPort = section.Integer(Keys.SmtpPort, 1, 65535) ?? defaults.SmtpPort,
            PopHost = section.Text(Keys.PopHost),
            PopPort = section.Integer(Keys.PopPort, 1, 65535) ?? defaults.PopPort,
            Ssl = section.Boolean(Keys.Ssl) ?? defaults.Ssl,
            StartTls = section.Boolean(Keys.StartTls) ?? defaults.StartTls,
            CaFile = ReadCaFile(section),
        };
        if (server.ImapHost is null && server.SmtpHost is null && server.PopHost is null)
        {
            section.Error(Keys.ImapHost, null, "is missing (and so are smtp_host and pop_host): the server names no host");
        }
        return server;
    }

    private static string? ReadCaFile(SectionReader section)
    {
        var value = section.Text(Keys.CaFile);
        if (value is null)
        {
            return null;
        }
        var full = section.Resolve(value);
        try
        {
            var bundle = new X509Certificate2Collection();
            bundle.ImportFromPemFile(full);
            if (bundle.Count == 0)
            {
                section.Error(Keys.CaFile, value, "holds no PEM certificate");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            section.Error(Keys.CaFile, value, $"cannot be read as a PEM bundle: {e.Message}");
        }
        return full;
    }
}
