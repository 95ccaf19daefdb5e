using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace EmailProxy.Configuration;

/// <summary>
/// Reads the INI file with Microsoft.Extensions.Configuration.Ini into <see cref="ProxyConfig"/>:
/// sorts its sections by kind for the section readers (<see cref="GeneralSectionReader"/>,
/// <see cref="ServerSectionReader"/>, <see cref="AccountSectionReader"/>), and collects every
/// problem (not only the first) with its section and key.
/// </summary>
internal static class ConfigReader
{
    /// <summary>Reads the file once and parses those bytes; the result (and its configuration) carry their SHA-256.</summary>
    public static ConfigReadResult ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return Fail(new ConfigProblem("file", null, null, $"the configuration file '{path}' does not exist (use --config PATH or $EMAILPROXY_CONFIG)"));
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(new ConfigProblem("file", null, null, $"'{path}' cannot be read as an INI file: {e.Message}"));
        }
        var hash = Convert.ToHexString(SHA256.HashData(bytes));
        var read = Parse(path, bytes);
        return read with
        {
            ContentHash = hash,
            Config = read.Config is { } config ? config with { SourceHash = hash, SourceWarnings = [.. read.Warnings.Select(warning => warning.ToString())] } : null,
        };
    }

    private static ConfigReadResult Parse(string path, byte[] bytes)
    {
        var lines = LinesOf(bytes);
        var duplicates = DuplicateAccountHeaders(lines);
        if (duplicates.Count > 0)
        {
            return new ConfigReadResult(null, duplicates, []);
        }
        IConfigurationRoot root;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            root = new ConfigurationBuilder().AddIniStream(stream).Build();
        }
        catch (Exception e) when (e is FormatException || e.InnerException is FormatException)
        {
            // The INI reader's own message quotes the whole line, which may be a secret with its '=' left out:
            // only its number is said (this text reaches /readyz, the log and the terminal).
            var line = FirstUnreadableLine(lines);
            return Fail(new ConfigProblem("file", null, null,
                $"'{path}' cannot be read as an INI file: line {(line > 0 ? line.ToString(CultureInfo.InvariantCulture) : "?")} is neither a [section], a key = value, nor a comment (its text is not shown: it may hold a secret)"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return Fail(new ConfigProblem("file", null, null, $"'{path}' cannot be read as an INI file: {e.InnerException?.Message ?? e.Message}"));
        }
        return Read(root, path, AccountHeaders(lines));
    }

    /// <summary>The names of the file's <c>[account NAME]</c> headers, in the file's order.</summary>
    private static List<string> AccountHeaders(string[] lines)
    {
        var names = new List<string>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length >= 2 && line[0] == '[' && line[^1] == ']' && SplitSectionName(line[1..^1]) is var (kind, name)
                && kind.Equals(ConfigKeys.AccountSection, StringComparison.OrdinalIgnoreCase) && name.Length > 0)
            {
                names.Add(name);
            }
        }
        return names;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return int.MaxValue;
    }

    /// <summary>The 1-based number of the first line the INI format does not allow (as the INI reader judges it), or 0.</summary>
    private static int FirstUnreadableLine(IEnumerable<string> lines)
    {
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is ';' or '#' or '/' || (line[0] == '[' && line[^1] == ']') || line.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }
            return number;
        }
        return 0;
    }

    /// <param name="templateOrder">The names of the file's <c>[account]</c> sections in the file's order (the configuration's own order is by name): of several templates that match a login name, the first in the file wins.</param>
    public static ConfigReadResult Read(IConfiguration configuration, string path, IReadOnlyList<string>? templateOrder = null)
    {
        var problems = new ConfigProblems();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        SectionReader Reader(IConfigurationSection section) => new(section, directory, problems);

        var general = new GeneralOptions();
        var listenersWritten = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var servers = new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase);
        var accountSections = new List<(string Name, IConfigurationSection Section)>();
        foreach (var section in configuration.GetChildren())
        {
            var (kind, name) = SplitSectionName(section.Key);
            if (kind.Equals(ConfigKeys.GeneralSection, StringComparison.OrdinalIgnoreCase) && name.Length == 0)
            {
                general = GeneralSectionReader.Read(Reader(section));
                listenersWritten.UnionWith(new[] { ConfigKeys.General.ImapListen, ConfigKeys.General.SmtpListen, ConfigKeys.General.PopListen }
                    .Where(key => section[key] is not null));
            }
            else if (kind.Equals(ConfigKeys.ServerSection, StringComparison.OrdinalIgnoreCase) && name.Length > 0)
            {
                if (!servers.TryAdd(name, ServerSectionReader.Read(Reader(section), name)))
                {
                    problems.Error(section.Key, null, null, $"there is a second [server {name}] section (names are case-insensitive)");
                }
            }
            else if (kind.Equals(ConfigKeys.AccountSection, StringComparison.OrdinalIgnoreCase) && name.Length > 0)
            {
                // Read once every [server] is known, wherever the account stands in the file.
                accountSections.Add((name, section));
            }
            else if (section.Value is not null)
            {
                problems.Warn("file", section.Key, null, "a key outside any section is ignored");
            }
            else
            {
                problems.Warn(section.Key, null, null, "unknown section, ignored (expected [general], [server NAME] or [account NAME])");
            }
        }

        var accounts = new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase);
        var accountNames = new List<(string Name, string Section)>();
        var templates = new List<AccountTemplate>();
        var sections = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, section) in accountSections)
        {
            if (AccountTemplate.IsPattern(name))
            {
                if (AccountNameRules.Problem(name) is { } problem)
                {
                    problems.Error(section.Key, null, null, problem);
                }
                else if (AccountTemplateReader.Read(Reader(section), name, servers) is { } template)
                {
                    templates.Add(template);
                }
                continue;
            }
            if (!AccountNameRules.Check(name, section.Key, accountNames, problems))
            {
                continue;
            }
            var account = AccountSectionReader.Read(Reader(section), name, servers);
            if (account is not null && !accounts.TryAdd(name, account))
            {
                problems.Error(section.Key, null, null, $"there is a second [account {name}] section (login names are case-insensitive)");
            }
            else if (account is not null)
            {
                sections[name] = section.Key;
                if (section[ConfigKeys.Account.MaxAccounts] is not null)
                {
                    problems.Warn(section.Key, ConfigKeys.Account.MaxAccounts, null, "is only used by a template ([account *@example.com]): ignored");
                }
            }
        }
        // The built-in upstreams accounts and templates use (a [server] of the same name, written in the file, wins), added
        // only now: an account without server takes the file's only [server], and a built-in one must not count as a second.
        foreach (var serverName in accounts.Values.Select(account => account.ServerName).Concat(templates.Select(template => template.Options.ServerName)))
        {
            if (!servers.ContainsKey(serverName) && Providers.ProviderEndpoints.FindBuiltInUpstream(serverName) is { } builtIn)
            {
                servers.Add(builtIn.Name, builtIn);
            }
        }
        TokenFromRules.Resolve(accounts, sections, templates, problems);
        foreach (var (name, account) in accounts.Where(entry => entry.Value.TokenFrom is null))
        {
            ConfigLint.CheckAccount(sections[name], account, general, listenersWritten, servers, problems);
        }
        foreach (var template in templates)
        {
            ConfigLint.CheckAccount(template.Section, template.Options, general, listenersWritten, servers, problems);
        }
        if (templateOrder is not null)
        {
            // The file's order: of several templates that match a name, the first written wins.
            templates = [.. templates.OrderBy(template => IndexOf(templateOrder, template.Pattern))];
        }
        ConfigLint.CheckRedirectUri(general, [.. accounts.Values, .. templates.Select(template => template.Options)], problems);
        ConfigLint.CheckLocalTls(general, Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", problems);
        ListenerExposure.Check(general, accounts.Values, problems);
        if (accounts.Count == 0 && templates.Count == 0)
        {
            problems.Warn("file", null, null, "no [account NAME] section: every login will be refused until one is added");
        }

        var config = problems.Errors.Count == 0 ? new ProxyConfig(path, general, servers, accounts) { Templates = templates } : null;
        return new ConfigReadResult(config, problems.Errors, problems.Warnings);
    }

    /// <summary>
    /// Two <c>[account]</c> headers whose names differ only in case (or not at all), found by scanning
    /// the file's header lines before it is parsed: the INI reader's keys are case-insensitive, so it
    /// merges such sections silently (or refuses the file over a key both have), and the login name
    /// alone could not tell which of the two was meant. Each second header is an error naming both
    /// headers and their lines.
    /// </summary>
    private static List<ConfigProblem> DuplicateAccountHeaders(string[] lines)
    {
        var problems = new List<ConfigProblem>();
        var seen = new Dictionary<string, (string Header, int Line)>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length < 2 || line[0] != '[' || line[^1] != ']')
            {
                continue;
            }
            var header = line[1..^1];
            var (kind, name) = SplitSectionName(header);
            if (!kind.Equals(ConfigKeys.AccountSection, StringComparison.OrdinalIgnoreCase) || name.Length == 0)
            {
                continue;
            }
            if (seen.TryGetValue(name, out var first))
            {
                problems.Add(new ConfigProblem(header.Trim(), null, null,
                    $"(line {i + 1}) is the same account as [{first.Header}] (line {first.Line}): account names are case-insensitive, so the two sections would be merged into one; rename or remove one of them"));
            }
            else
            {
                seen.Add(name, (header.Trim(), i + 1));
            }
        }
        return problems;
    }

    /// <summary>The file's lines as the INI reader sees them (UTF-8 unless a byte order mark says otherwise).</summary>
    private static string[] LinesOf(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes, writable: false), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }
        return [.. lines];
    }

    private static ConfigReadResult Fail(ConfigProblem problem) => new(null, [problem], []);

    private static (string Kind, string Name) SplitSectionName(string key)
    {
        var trimmed = key.Trim();
        var space = trimmed.IndexOfAny([' ', '\t']);
        return space < 0 ? (trimmed, "") : (trimmed[..space], trimmed[(space + 1)..].Trim());
    }
}
