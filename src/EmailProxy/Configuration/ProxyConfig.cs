namespace EmailProxy.Configuration;

/// <summary>The whole configuration file, read and validated once at start.</summary>
internal sealed record ProxyConfig(
    string ConfigPath,
    GeneralOptions General,
    IReadOnlyDictionary<string, ServerOptions> Servers,
    IReadOnlyDictionary<string, AccountOptions> Accounts)
{
    /// <summary>
    /// The SHA-256 (hex) of the file's bytes this configuration was read from (<see cref="ConfigReader.ReadFile"/>),
    /// null when it was not read from a file: a reload compares the file with it, not with what is there later.
    /// </summary>
    public string? SourceHash { get; init; }

    /// <summary>The warnings the read of that file gave (as <see cref="ConfigProblem.ToString"/> prints them): what the start logged.</summary>
    public IReadOnlyList<string> SourceWarnings { get; init; } = [];

    public string ConfigDirectory => Path.GetDirectoryName(Path.GetFullPath(ConfigPath)) ?? ".";

    /// <summary>token_dir as a full path (relative to the configuration file's folder): the one place it is worked out.</summary>
    public string TokenDirectory => Path.GetFullPath(General.TokenDirectory, ConfigDirectory);

    /// <summary>tls_dir as a full path (relative to the configuration file's folder): the generated CA and server certificate.</summary>
    public string TlsDirectory => Path.GetFullPath(General.TlsDirectory, ConfigDirectory);

    /// <summary>Finds the account a client logged in as; names are case-insensitive.</summary>
    public AccountOptions? FindAccount(string loginName) =>
        Accounts.TryGetValue(loginName, out var account) ? account : null;
}
