using System.CommandLine;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Hosting;
using EmailProxy.Providers;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Hosting;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy [run]</c>, <c>check</c>, <c>hash-password</c>, <c>espocrm [ACCOUNT]</c>,
/// <c>tokens list</c>, <c>tokens show ACCOUNT</c> (<c>--json</c>), <c>tokens clear ACCOUNT</c>,
/// <c>auth ACCOUNT [--device-code]</c>, <c>health</c>, <c>reload</c>, with <c>--config PATH</c> and
/// <c>--version</c>. Exit codes: 0 fine, 1 failure at run time (or problems found by check),
/// 2 the configuration cannot be used.
/// </summary>
internal static class ProxyCommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitBadConfig = 2;

    public static Task<int> InvokeAsync(string[] args)
    {
        var configOption = new Option<string?>("--config", "-c")
        {
            Description = "The configuration file (else $EMAILPROXY_CONFIG, ./emailproxy.config, /config/emailproxy.config)",
            Recursive = true,
        };

        var run = new Command("run", "Run the proxy (the default)");
        run.SetAction((result, _) => RunAsync(result.GetValue(configOption)));

        var check = new Command("check", "Read the configuration, report problems and Microsoft pitfalls; exit 1 if there are errors");
        check.SetAction((result, cancellationToken) => CheckAsync(result.GetValue(configOption), cancellationToken));

        var hashPassword = new Command("hash-password", "Read a password from standard input and print the password_hash value for it");
        hashPassword.SetAction(_ => HashPassword());

        var espoAccount = new Argument<string?>("ACCOUNT") { Description = "Only this account (else every account)", Arity = ArgumentArity.ZeroOrOne };
        var espocrm = new Command("espocrm", "Print what to type into EspoCRM's email account screens for this configuration") { espoAccount };
        espocrm.SetAction(result => EspoCrm(result.GetValue(configOption), result.GetValue(espoAccount)));

        var jsonOption = new Option<bool>("--json") { Description = "One JSON document, for scripts" };
        var tokensList = new Command("list", "Every account's sign-in state, flow, scopes and token times (never a token); works without a running proxy") { jsonOption };
        tokensList.SetAction((result, cancellationToken) => TokensAsync(result.GetValue(configOption), null, result.GetValue(jsonOption), cancellationToken));
        var tokensAccount = new Argument<string>("ACCOUNT") { Description = "The account's name, as in [account NAME]" };
        var tokensShow = new Command("show", "One account's sign-in state, flow, scopes, token times and token claims (never a token)") { tokensAccount, jsonOption };
        tokensShow.SetAction((result, cancellationToken) => TokensAsync(result.GetValue(configOption), result.GetValue(tokensAccount), result.GetValue(jsonOption), cancellationToken));
        var clearAccount = new Argument<string>("ACCOUNT") { Description = "The account's name, as in [account NAME]" };
        var tokensClear = new Command("clear", "Remove one account's tokens (a running proxy forgets its copy too); its next login needs a sign-in") { clearAccount };
        tokensClear.SetAction((result, cancellationToken) => TokensClearCommand.RunAsync(result.GetValue(configOption), result.GetValue(clearAccount)!, cancellationToken));
        var migrateTo = new Option<string>("--to") { Description = "redis (token folder to Redis) or file (Redis to token folder)", Required = true };
        var tokensMigrate = new Command("migrate", "Copy every account's tokens between the token folder and Redis (sealed as they are; nothing at the destination overwritten); with the proxies stopped") { migrateTo };
        tokensMigrate.SetAction((result, cancellationToken) => TokensMigrateCommand.RunAsync(result.GetValue(configOption), result.GetValue(migrateTo)!, cancellationToken));
        var tokens = new Command("tokens", "What the token folder holds for each account, and clearing one") { tokensList, tokensShow, tokensClear, tokensMigrate };

        var authAccount = new Argument<string>("ACCOUNT") { Description = "The account's name, as in [account NAME]" };
        var deviceCodeOption = new Option<bool>("--device-code") { Description = "Sign in with a device code (open a URL, enter a code) whatever the account's flow" };
        var auth = new Command("auth", "Sign one account in from this terminal (through the running proxy when there is one); a browser sign-in reads the address the browser ended on from standard input")
        {
            authAccount,
            deviceCodeOption,
        };
        auth.SetAction((result, cancellationToken) => AuthCommand.RunAsync(result.GetValue(configOption), result.GetValue(authAccount)!, result.GetValue(deviceCodeOption), cancellationToken));

        var health = new Command("health", "Ask the running proxy whether it is ready (its /readyz); exit 0 when it is: the container's HEALTHCHECK");
        health.SetAction((result, cancellationToken) => HealthCommand.RunAsync(result.GetValue(configOption), cancellationToken));

        var reload = new Command("reload", "Make the running proxy read its configuration file again (as SIGHUP does) and print what changed; open sessions are kept");
        reload.SetAction((result, cancellationToken) => ReloadCommand.RunAsync(result.GetValue(configOption), cancellationToken));

        var root = new RootCommand("Email OAuth2 Proxy: plain IMAP logins in, OAuth2 (XOAUTH2) logins out")
        {
            configOption,
            run,
            check,
            hashPassword,
            espocrm,
            tokens,
            auth,
            health,
            reload,
        };
        root.SetAction((result, _) => RunAsync(result.GetValue(configOption)));

        // The host handles SIGTERM and Ctrl+C itself (graceful shutdown); the parser must not race it.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>The configuration a command works on, read; its errors (when it cannot be used) printed, one line each.</summary>
    internal static (string Path, ConfigReadResult Read) ReadConfig(string? configPath)
    {
        var path = ConfigLocator.Locate(configPath);
        var read = ConfigReader.ReadFile(path);
        foreach (var error in read.Errors)
        {
            Console.Error.WriteLine($"emailproxy: {path}: {error}");
        }
        return (path, read);
    }

    /// <summary>Every account (by name), or the one named; null (one line printed) when there is no such account.</summary>
    internal static IReadOnlyList<AccountOptions>? SelectAccounts(string path, ProxyConfig config, string? accountName)
    {
        // The accounts templates made are those whose token files are there, as the proxy's start finds them.
        config.Created.Restore(config, TokenFileStore.StoredAccountNames(config.TokenDirectory), DateTimeOffset.UtcNow);
        if (accountName is null)
        {
            return [.. config.AllAccounts.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase)];
        }
        if (config.FindAccount(accountName) is { } account)
        {
            return [account];
        }
        Console.Error.WriteLine($"emailproxy: {path}: there is no [account {ClientText.Sanitize(accountName)}]");
        return null;
    }

    private static async Task<int> RunAsync(string? configPath)
    {
        // First: from here to the end of the run SIGHUP never ends the process (a reload asked for while it starts is taken once it has).
        using var hangup = new HangupSignal();
        var (path, read) = ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ExitBadConfig;
        }
        if (StateFolders.FirstProblem(config) is { } unwritable)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {path}: {unwritable}");
            return ExitBadConfig;
        }
        MasterKey key;
        try
        {
            key = MasterKey.Load(
                Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory),
                config.TokenDirectory,
                Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        }
        catch (MasterKeyException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {path}: [general] {e.Message}");
            return ExitBadConfig;
        }

        try
        {
            await using var app = ProxyHost.Build(config, key, read.Warnings, hangup);
            try
            {
                await app.StartAsync();
            }
            catch
            {
                // Stop what did start (the background services) before the host is disposed, else the
                // host logs their cancellation as a fault and a port in use is no longer one line.
                await app.StopAsync(CancellationToken.None);
                throw;
            }
            await app.WaitForShutdownAsync();
            return ExitOk;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {path}: [general] the local TLS certificate cannot be used: {e.Message}");
            return ExitBadConfig;
        }
        catch (IOException e)
        {
            // Kestrel could not bind a port (in use, or not allowed).
            await Console.Error.WriteLineAsync($"emailproxy: cannot listen: {e.Message}");
            return ExitFailure;
        }
    }

    private static async Task<int> CheckAsync(string? configPath, CancellationToken cancellationToken)
    {
        var path = ConfigLocator.Locate(configPath);
        var read = ConfigReader.ReadFile(path);
        // Issuers' discovery documents: read here, never by the configuration reader (network I/O).
        var discovered = Array.Empty<ConfigProblem>() as IReadOnlyList<ConfigProblem>;
        if (read.Config is { } readConfig && readConfig.Accounts.Values.Any(a => a.Discovery is not null))
        {
            using var http = new HttpClient { Timeout = IssuerDiscovery.Timeout };
            discovered = await DiscoveryCheck.CheckAsync(readConfig, new IssuerDiscovery(http, TimeProvider.System), cancellationToken);
        }
        foreach (var error in read.Errors.Concat(discovered))
        {
            Console.WriteLine($"error: {error}");
        }
        foreach (var warning in read.Warnings)
        {
            Console.WriteLine($"warning: {warning}");
        }
        // Templates too; a shared mailbox (token_from) has its delegate's scope, which is warned about once, as the delegate's.
        foreach (var account in read.Config is { } config ? config.Accounts.Values.Where(a => a.TokenFrom is null).Concat(config.Templates.Select(t => t.Options)) : [])
        {
            if (account.ScopeTargetsGraph)
            {
                Console.WriteLine($"warning: [account {account.Name}] scope: graph.microsoft.com tokens are refused by Exchange's IMAP, POP and SMTP; use {ProviderErrorMapping.ExchangeMailScope}");
            }
            if (account.MayUseGraph)
            {
                Console.WriteLine($"note: [account {account.Name}] {Graph.GraphFixes.CheckNote(account)}");
            }
        }
        var errors = read.Errors.Count + discovered.Count;
        Console.WriteLine(errors == 0 ? $"{path}: usable" : $"{path}: {errors} error(s)");
        return errors == 0 ? ExitOk : ExitFailure;
    }

    private static int EspoCrm(string? configPath, string? accountName)
    {
        var (path, read) = ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ExitBadConfig;
        }
        if (SelectAccounts(path, config, accountName) is not { } accounts)
        {
            return ExitFailure;
        }
        Console.Write(EspoCrmSettings.Describe(config, accounts));
        return ExitOk;
    }

    private static async Task<int> TokensAsync(string? configPath, string? accountName, bool json, CancellationToken cancellationToken)
    {
        var (path, read) = ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ExitBadConfig;
        }
        if (SelectAccounts(path, config, accountName) is not { } accounts)
        {
            return ExitFailure;
        }
        var now = DateTimeOffset.UtcNow;
        IReadOnlyList<TokenStatus> statuses;
        try
        {
            statuses = await TokenReport.ReadAsync(config, accounts, Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable), now, cancellationToken);
        }
        catch (MasterKeyException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {path}: [general] {e.Message}");
            return ExitBadConfig;
        }
        catch (TokenStoreUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {e.Message}");
            return ExitFailure;
        }
        if (json)
        {
            await Console.Out.WriteLineAsync(accountName is null
                ? System.Text.Json.JsonSerializer.Serialize(new TokenStatusList { Accounts = statuses }, TokenReportJsonContext.Default.TokenStatusList)
                : System.Text.Json.JsonSerializer.Serialize(statuses[0], TokenReportJsonContext.Default.TokenStatus));
        }
        else
        {
            await Console.Out.WriteAsync(TokenReport.Describe(statuses, now));
        }
        return ExitOk;
    }

    private static int HashPassword()
    {
        string? password;
        if (Console.IsInputRedirected)
        {
            password = Console.In.ReadLine();
        }
        else
        {
            password = ReadHidden("Password: ");
            if (ReadHidden("Again: ") != password)
            {
                Console.Error.WriteLine("emailproxy: the two passwords differ");
                return ExitFailure;
            }
        }
        if (string.IsNullOrEmpty(password))
        {
            Console.Error.WriteLine("emailproxy: no password given on standard input");
            return ExitFailure;
        }
        Console.WriteLine(PasswordVerifier.Hash(password));
        return ExitOk;
    }

    private static string ReadHidden(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}
