using System.Net;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Configuration;

/// <summary>The whole configuration file, read and validated once at start.</summary>
internal sealed record ProxyConfig(
    string ConfigPath,
    GeneralOptions General,
    IReadOnlyDictionary<string, ServerOptions> Servers,
    IReadOnlyDictionary<string, AccountOptions> Accounts)
{
    public string ConfigDirectory => Path.GetDirectoryName(Path.GetFullPath(ConfigPath)) ?? ".";

    /// <summary>Finds the account a client logged in as; names are case-insensitive.</summary>
    public AccountOptions? FindAccount(string loginName) =>
        Accounts.TryGetValue(loginName, out var account) ? account : null;
}

/// <summary>The <c>[general]</c> section.</summary>
internal sealed record GeneralOptions
{
    public const string SectionName = "general";

    public Uri RedirectUri { get; init; } = new("http://127.0.0.1:18089");
    public bool LocalServerAuth { get; init; } = true;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
    public string LogFormat { get; init; } = "text";
    public IPEndPoint? ImapListen { get; init; } = new(IPAddress.Loopback, 1993);
    public IPEndPoint? SmtpListen { get; init; } = new(IPAddress.Loopback, 1587);
    public IPEndPoint? PopListen { get; init; }
    public string TokenDirectory { get; init; } = "tokens";
    public string SecretFile { get; init; } = "emailproxy.key";
    public string LocalTls { get; init; } = "auto";
    public string? LocalCertificate { get; init; }
    public string? LocalKey { get; init; }
    public IReadOnlyList<string> LocalTlsNames { get; init; } = [];
    public TimeSpan WaitForAuthorization { get; init; } = TimeSpan.Zero;
}

/// <summary>A <c>[server NAME]</c> section: one upstream provider's hosts.</summary>
internal sealed record ServerOptions(string Name)
{
    public const string SectionPrefix = "server";

    public string? ImapHost { get; init; }
    public int ImapPort { get; init; } = 993;
    public string? SmtpHost { get; init; }
    public int SmtpPort { get; init; } = 587;
    public string? PopHost { get; init; }
    public int PopPort { get; init; } = 995;
    public bool Ssl { get; init; } = true;
    public bool StartTls { get; init; } = true;
    public string? CaFile { get; init; }
}

internal enum OAuthProvider
{
    Microsoft,
    Google,
    Generic,
}

internal enum OAuthFlow
{
    AuthorizationCode,
    DeviceCode,
    ClientCredentials,
}

/// <summary>An <c>[account NAME]</c> section: the login name a client types and how to sign it in.</summary>
internal sealed record AccountOptions(string Name)
{
    public const string SectionPrefix = "account";

    public required string Username { get; init; }
    public required string ServerName { get; init; }
    public OAuthProvider Provider { get; init; } = OAuthProvider.Microsoft;
    public required string ClientId { get; init; }
    public string? ClientSecret { get; init; }
    public string Tenant { get; init; } = "common";
    public required Uri AuthorizeUrl { get; init; }
    public required Uri TokenUrl { get; init; }
    public Uri? DeviceCodeUrl { get; init; }
    public required string Scope { get; init; }
    public OAuthFlow Flow { get; init; } = OAuthFlow.AuthorizationCode;
    public string? PasswordHash { get; init; }

    public string ProviderDisplayName => Provider switch
    {
        OAuthProvider.Microsoft => "Microsoft",
        OAuthProvider.Google => "Google",
        _ => TokenUrl.Host,
    };

    /// <summary>Exchange refuses tokens minted for Microsoft Graph (see PROTOCOL-NOTES.md).</summary>
    public bool ScopeTargetsGraph => Scope.Contains("graph.microsoft.com", StringComparison.OrdinalIgnoreCase);

    /// <summary>Never the client secret or the password hash.</summary>
    public override string ToString() => $"AccountOptions {{ Name = {Name}, Username = {Username}, Server = {ServerName}, Provider = {Provider}, Flow = {Flow} }}";
}
