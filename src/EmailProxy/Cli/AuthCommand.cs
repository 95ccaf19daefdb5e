using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using EmailProxy.Web;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy auth ACCOUNT [--device-code]</c>: signs one account in from a terminal (or through
/// <c>docker exec -i</c>, standard input a pipe). With a running proxy (<see cref="ProxyPresence"/>)
/// the proxy does the sign-in through its control endpoints and uses the new token at once; without
/// one, the command does it itself with the key and token folder <c>run</c> uses and stores the token.
/// A browser sign-in prints the authorize URL to open on any machine and reads the address the browser
/// ended on from standard input (one line); a device code prints where to enter which code. It waits
/// with <see cref="SignInProgress"/> and ends with "Signed in as IDENTITY" (exit 0) or one line why not
/// (exit 1). Nothing of a token, the authorization code or a secret is ever printed.
/// </summary>
internal static class AuthCommand
{
    /// <summary>How often the running proxy is asked how its sign-in is going.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(string? configPath, string accountName, bool deviceCode, CancellationToken cancellationToken)
    {
        var (path, read) = ProxyCommandLine.ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ProxyCommandLine.ExitBadConfig;
        }
        // A name a template matches gets its account here, as its first login would make it.
        if (config.ResolveAccount(accountName, TimeProvider.System.GetUtcNow()) is { Refusal: { } refusal })
        {
            return Fail(refusal);
        }
        if (ProxyCommandLine.SelectAccounts(path, config, accountName) is not [var account])
        {
            return ProxyCommandLine.ExitFailure;
        }
        if (account.TokenFrom is { } tokenFrom)
        {
            return Fail($"account {account.Name} uses the sign-in of account {tokenFrom} (token_from): run emailproxy auth {tokenFrom}");
        }
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return Fail($"account {account.Name} is app-only (client credentials): it needs no sign-in; the proxy fetches its token at the next login");
        }
        var method = deviceCode ? SignInMethod.DeviceCode : SignInManager.DefaultMethod(account);
        if (method == SignInMethod.Browser && account.AuthorizeUrl is null && account.Discovery is null)
        {
            return Fail($"account {account.Name} has no authorize_url: it cannot sign in in a browser (try --device-code)");
        }

        using var presence = await ProxyPresence.FindAsync(config, cancellationToken);
        if (presence.Refusal is { } absent)
        {
            return Fail(absent);
        }
        try
        {
            var completion = presence.Online is { } online
                ? await OnlineAsync(online, config, account, method, cancellationToken)
                : await OfflineAsync(path, config, account, method, cancellationToken);
            if (completion is null)
            {
                return ProxyCommandLine.ExitBadConfig;
            }
            if (!completion.Value.Succeeded)
            {
                return Fail(completion.Value.Message);
            }
            await Console.Out.WriteLineAsync(completion.Value.Identity is { } identity
                ? $"Signed in as {identity}"
                : $"Signed in as {account.Username} (the provider's tokens did not say who signed in, so this is the account's username)");
            if (completion.Value.Password is { } password)
            {
                // An account made from a template, signed in for the first time: its client password, this once.
                await Console.Out.WriteLineAsync($"Password of {account.Name} (shown once only; the proxy keeps only its hash): {password}");
            }
            return ProxyCommandLine.ExitOk;
        }
        catch (ControlException e)
        {
            return Fail(e.Message);
        }
    }

    /// <summary>The running proxy signs in: started through <c>/signin</c>, a pasted address sent to <c>/paste</c>, the outcome read from <c>/signins/{id}</c>.</summary>
    private static async Task<(bool Succeeded, string Message, string? Identity, string? Password)?> OnlineAsync(
        ControlClient proxy, ProxyConfig config, AccountOptions account, SignInMethod method, CancellationToken cancellationToken)
    {
        var started = await proxy.StartSignInAsync(account.Name, method, cancellationToken);
        var isBrowser = started.Method == "browser";
        await InstructAsync(account, isBrowser, started.AuthorizeUrl, started.VerificationUri, started.UserCode,
            servedRedirect: isBrowser && config.General.LocalServerAuth ? config.General.RedirectUri : null);

        async Task<(bool, string, string?, string?)> ProxyOutcomeAsync(CancellationToken stop)
        {
            while (true)
            {
                var state = await proxy.GetSignInAsync(started.Id, stop);
                if (state.State != ControlSignInState.Pending)
                {
                    return (state.State == ControlSignInState.Succeeded, state.Message, state.Identity, state.Password);
                }
                await Task.Delay(PollInterval, stop);
            }
        }

        async Task<(bool, string, string?, string?)> PasteAsync(string address, CancellationToken stop)
        {
            var state = await proxy.PasteAsync(started.Id, address, stop);
            return (state.State == ControlSignInState.Succeeded, state.Message, state.Identity, state.Password);
        }

        // Without local_server_auth nothing but a paste completes it; with it, the served redirect may.
        return await WaitAsync(started.ExpiresAt, isBrowser, ProxyOutcomeAsync, PasteAsync, pasteOnly: isBrowser && !config.General.LocalServerAuth, cancellationToken);
    }

    /// <summary>
    /// No proxy runs: the sign-in is done here, with the key and token folder <c>run</c> uses, and the token stored here: in the
    /// token folder, or in Redis (<c>token_store = redis</c>) for the replicas running elsewhere.
    /// </summary>
    private static async Task<(bool Succeeded, string Message, string? Identity, string? Password)?> OfflineAsync(
        string path, ProxyConfig config, AccountOptions account, SignInMethod method, CancellationToken cancellationToken)
    {
        var tokenDirectory = config.TokenDirectory;
        MasterKey key;
        try
        {
            key = MasterKey.Load(Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory), tokenDirectory,
                Environment.GetEnvironmentVariable(MasterKey.EnvironmentVariable));
        }
        catch (MasterKeyException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {path}: [general] {e.Message}");
            return null;
        }
        // Warnings and errors (a token file that cannot be saved) go to standard error; the sign-in's
        // own outcome is the command's one line, so its log entries stay out.
        using var logging = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter(typeof(SignInManager).FullName, LogLevel.Error)
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        using var http = new HttpClient { Timeout = OAuthClient.RequestTimeout };
        var time = TimeProvider.System;
        var client = new OAuthClient(http, time);
        // With token_store = redis the tokens go to Redis, as a replica keeps them: the running replicas elsewhere hear of the
        // save (RedisTokenStore publishes it) and use them at their next login.
        await using var redis = config.General.TokenStore == TokenStoreKind.Redis && config.General.Redis is { } connectionString
            ? RedisConnection.ForCommand(connectionString)
            : null;
        ITokenStore store;
        if (redis is null)
        {
            store = new TokenFileStore(tokenDirectory, key, time, logging.CreateLogger<TokenFileStore>());
        }
        else
        {
            try
            {
                // Before the sign-in: a person should not sign in for tokens that cannot be kept.
                await redis.GetAsync(cancellationToken);
            }
            catch (Exception e) when (RedisConnection.IsUnavailable(e))
            {
                return (false, $"Redis at {redis.Description} cannot be reached ({e.GetType().Name}): the tokens could not be kept there; nothing was started", null, null);
            }
            store = new RedisTokenStore(redis, key, time, logging.CreateLogger<RedisTokenStore>());
        }
        var tokens = new TokenService(client, store, time, logging.CreateLogger<TokenService>());
        using var signIns = new SignInManager(config, client, tokens, time, logging.CreateLogger<SignInManager>());

        var pending = await signIns.StartOrJoinAsync(account, method, cancellationToken);
        if ((pending.Method == SignInMethod.DeviceCode ? pending.UserCode is null : pending.AuthorizeUrl is null) && pending.Completion.IsCompleted)
        {
            // The provider gave no code (or an issuer's document could not be read): its words, with the fix where known.
            var refused = await pending.Completion;
            return (false, refused.Message, null, null);
        }
        var isBrowser = pending.Method == SignInMethod.Browser;
        await InstructAsync(account, isBrowser, pending.AuthorizeUrl?.AbsoluteUri, pending.VerificationUri?.AbsoluteUri, pending.UserCode, servedRedirect: null);

        async Task<(bool, string, string?, string?)> CompletedAsync(CancellationToken stop)
        {
            try
            {
                var done = await pending.Completion.WaitAsync(pending.ExpiresAt - time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero, time, stop);
                return (done.Succeeded, done.Message, done.Identity, done.Password?.Take());
            }
            catch (TimeoutException)
            {
                return (false, $"The sign-in of account {account.Name} expired before it was completed: run emailproxy auth again.", null, null);
            }
        }

        async Task<(bool, string, string?, string?)> PasteAsync(string address, CancellationToken stop)
        {
            var done = await signIns.CompletePastedAsync(account, address, stop);
            return (done.Succeeded, done.Message, done.Identity, done.Password?.Take());
        }

        // Nothing listens for the redirect here: only a paste completes a browser sign-in.
        return await WaitAsync(pending.ExpiresAt, isBrowser, CompletedAsync, PasteAsync, pasteOnly: true, cancellationToken);
    }

    /// <summary>
    /// Waits for the sign-in's outcome (<paramref name="outcome"/>) with the progress line; for a browser
    /// sign-in, reads one pasted address from standard input meanwhile and completes with it
    /// (<paramref name="paste"/>). When the outcome comes first (the served redirect), reading stops.
    /// </summary>
    private static async Task<(bool Succeeded, string Message, string? Identity, string? Password)> WaitAsync(
        DateTimeOffset expiresAt,
        bool isBrowser,
        Func<CancellationToken, Task<(bool, string, string?, string?)>> outcome,
        Func<string, CancellationToken, Task<(bool, string, string?, string?)>> paste,
        bool pasteOnly,
        CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // In place only on a terminal, and not while the person types a pasted address into that terminal.
        var live = !Console.IsErrorRedirected && (!isBrowser || Console.IsInputRedirected);
        var progress = new SignInProgress(Console.Error, live, TimeProvider.System).RunAsync(expiresAt, stop.Token);
        try
        {
            var done = outcome(stop.Token);
            var line = isBrowser ? ReadPastedAsync(stop.Token) : null;
            while (true)
            {
                if (line is null)
                {
                    return await done;
                }
                if (await Task.WhenAny(done, line) == done)
                {
                    return await done;
                }
                var address = await line;
                if (address is null)
                {
                    // Standard input ended: only the served redirect can still complete it.
                    if (pasteOnly)
                    {
                        return (false, "standard input ended before the address the browser ended on was pasted", null, null);
                    }
                    line = null;
                    continue;
                }
                return await paste(address, stop.Token);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await progress;
        }
    }

    /// <summary>
    /// The next non-blank line of standard input; null at its end. On a thread of its own: the
    /// console's reader reads synchronously whatever its Async method says, and a read nobody
    /// answers (the served redirect won) must not hold the command; it ends with the process.
    /// </summary>
    private static Task<string?> ReadPastedAsync(CancellationToken cancellationToken) => Task.Run(() =>
    {
        while (!cancellationToken.IsCancellationRequested && ReadBoundedLine(Console.In, PastedRedirect.MaxLength) is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                return line;
            }
        }
        return null;
    }, CancellationToken.None);

    /// <summary>
    /// One line of at most <paramref name="limit"/> characters; a longer one is returned as soon as it
    /// passes the limit (one character more, which the parser refuses as too long), without waiting for
    /// its end: an endless stream with no line end neither fills memory nor holds the command. Null at
    /// the end of the input.
    /// </summary>
    internal static string? ReadBoundedLine(TextReader reader, int limit)
    {
        var line = new System.Text.StringBuilder();
        while (true)
        {
            var next = reader.Read();
            if (next < 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }
            if (next == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            line.Append((char)next);
            if (line.Length > limit)
            {
                return line.ToString();
            }
        }
    }

    /// <summary>What to open or enter. The authorize URL carries no secret (PKCE keeps the verifier here); never the code.</summary>
    private static async Task InstructAsync(AccountOptions account, bool isBrowser, string? authorizeUrl, string? verificationUri, string? userCode, Uri? servedRedirect)
    {
        var output = Console.Out;
        if (isBrowser)
        {
            await output.WriteLineAsync($"Open this address in a browser on any machine and sign in as {account.Username}:");
            await output.WriteLineAsync(authorizeUrl);
            await output.WriteLineAsync(servedRedirect is null
                ? "Then copy the address the browser ends on (a \"this site can't be reached\" page is fine) and paste it here, then press Enter:"
                : $"When the browser can reach {servedRedirect.GetLeftPart(UriPartial.Authority)}, the proxy completes the sign-in by itself; otherwise copy the address the browser ends on (a \"this site can't be reached\" page is fine) and paste it here, then press Enter:");
        }
        else
        {
            await output.WriteLineAsync($"To sign in account {account.Name}, open {verificationUri} and enter {userCode} (sign in as {account.Username}).");
        }
        await output.FlushAsync();
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"emailproxy: {message}");
        return ProxyCommandLine.ExitFailure;
    }
}
