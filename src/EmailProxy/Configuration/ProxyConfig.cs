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

    /// <summary>The <c>[account PATTERN]</c> templates, in the file's order (the first that matches a name wins).</summary>
    public IReadOnlyList<AccountTemplate> Templates { get; init; } = [];

    /// <summary>The accounts templates have made: the same object from one configuration to the next (a reload carries it).</summary>
    public TemplateAccounts Created { get; init; } = new();

    /// <summary>Finds the account a client logged in as (named in the file, or made from a template already); names are case-insensitive.</summary>
    public AccountOptions? FindAccount(string loginName) =>
        Accounts.TryGetValue(loginName, out var account) ? account
        : Created.Contains(loginName) && TemplateFor(loginName) is { } template ? template.AccountFor(loginName)
        : null;

    /// <summary>The template that gives a login name its account: the first in the file that matches it, unless an account is named so.</summary>
    public AccountTemplate? TemplateFor(string loginName) =>
        Accounts.ContainsKey(loginName) ? null : Templates.FirstOrDefault(template => template.Matches(loginName));

    /// <summary>
    /// The account for a login (or the CLI, or a control endpoint): the one named in the file, else the one its template
    /// made or makes now (<see cref="TemplateAccounts.TryMake"/>). Refusal is the client's one line when a template
    /// matches but makes none; both are null when nothing matches.
    /// </summary>
    public (AccountOptions? Account, string? Refusal) ResolveAccount(string loginName, DateTimeOffset now)
    {
        if (FindAccount(loginName) is { } found)
        {
            return (found, null);
        }
        if (TemplateFor(loginName) is not { } template)
        {
            return (null, null);
        }
        return Created.TryMake(template, loginName, Accounts.Keys, now) is { } refusal ? (null, refusal) : (template.AccountFor(loginName), null);
    }

    /// <summary>The accounts templates made that a template of this configuration still gives, by name.</summary>
    public IEnumerable<AccountOptions> CreatedAccounts =>
        Created.Names().Select(FindAccount).OfType<AccountOptions>().OrderBy(account => account.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every account: those named in the file, then those templates made.</summary>
    public IEnumerable<AccountOptions> AllAccounts => Accounts.Values.Concat(CreatedAccounts);
}
