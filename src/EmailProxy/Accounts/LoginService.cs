using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using EmailProxy.Providers;

namespace EmailProxy.Accounts;

/// <summary>
/// The road every protocol's login walks: account lookup, password check, access token (or a
/// sign-in), upstream XOAUTH2; a refused token is dropped, refreshed and tried once more.
/// </summary>
/// <remarks>
/// Where any account has a <c>password_hash</c>, the proxy may face guessers, and the login walks
/// guarded: an unknown login name and a wrong password get the same answer (<see cref="WrongCredentials"/>,
/// the same code), and an unknown name costs the same derivation (against another account's hash),
/// so neither the text nor the time tells which names exist; the log says which. Every check first
/// waits its turn with the <see cref="LoginThrottle"/> (its address's and its login name's recent
/// failures), right or wrong, so that hanging up early saves a guesser nothing; an address whose
/// line is too long is refused for now (<see cref="TooManyFailures"/>), and a check that finds the
/// derivation pool full, or the client's address past its share of it for too long, is a temporary
/// failure (<see cref="Busy"/>). Where no account has a hash, the proxy trusts
/// its clients (loopback) and an unknown name is told which section to add.
/// </remarks>
/// <remarks>
/// A login name that only a template matches (<see cref="AccountTemplate"/>) gets its account at its first login. Its
/// password is its own: until its first sign-in there is none, and the login only starts that sign-in (whatever the
/// password, nothing is granted); the sign-in's end shows a generated password once and keeps its hash with the
/// tokens (<see cref="GeneratedPassword"/>; a device code's end, with nobody at a page of the proxy, leaves it to the
/// status page, <see cref="UnshownPasswords"/>, which the login's text names), and from then on the login needs it. An account with <c>token_from</c>
/// (a shared mailbox) uses the tokens of the account it names and logs in upstream as its own username.
/// </remarks>
internal sealed class LoginService(LiveConfig live, PasswordVerifier passwords, LoginThrottle throttle, TokenService tokens, SignInManager signIns, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>What the client hears for an unknown login name or a wrong password, where passwords are checked.</summary>
    public const string WrongCredentials = "Wrong login name or password (the proxy checks the password against the account's password_hash)";

    /// <summary>What the client hears when every derivation slot is taken and the waiting line is full.</summary>
    public const string Busy = "The proxy is busy checking other passwords: try again in a moment";

    /// <summary>What the client hears when its address has failed so often lately that its turn is too far off.</summary>
    public const string TooManyFailures = "Too many failed logins from this address: try again in a minute";

    /// <summary>
    /// The configured hash that an unknown login name is checked against, so that it costs what a
    /// known one does; null when no account has one. The strongest one (most PBKDF2 iterations):
    /// accounts may carry hashes of different strengths (made by different versions, or by hand),
    /// and against a weaker one an unknown name would answer faster than a known one, which tells
    /// a guesser which names exist.
    /// </summary>
    /// <remarks>Worked out again for each configuration a reload puts in effect, and kept with it.</remarks>
    private Tuple<ProxyConfig, string?>? _decoy;

    private string? DecoyHashOf(ProxyConfig config)
    {
        if (Volatile.Read(ref _decoy) is { } known && known.Item1 == config)
        {
            return known.Item2;
        }
        var hash = config.Accounts.Values.Select(a => a.PasswordHash).OfType<string>().MaxBy(PasswordVerifier.IterationsOf);
        Volatile.Write(ref _decoy, Tuple.Create(config, hash));
        return hash;
    }

    /// <param name="clientAddress">The client's address (null when unknown), for throttling password guesses.</param>
    public async Task<LoginOutcome> LoginAsync(MailProtocol protocol, string loginName, string password, IPAddress? clientAddress, CancellationToken cancellationToken)
    {
        var shownName = ClientText.Sanitize(loginName);
        // One configuration for the whole login, whatever a reload puts in effect meanwhile.
        var config = live.Current;
        var (account, refusal) = config.ResolveAccount(loginName, _time.GetUtcNow());
        if (refusal is not null)
        {
            return LoginOutcome.Fail(LoginFailure.UnknownAccount, refusal);
        }
        var decoyHash = account is null ? DecoyHashOf(config) : null;
        if (account is null)
        {
            if (decoyHash is null)
            {
                return LoginOutcome.Fail(LoginFailure.UnknownAccount,
                    $"There is no account '{shownName}' in the proxy's configuration: add an [account {shownName}] section to {Path.GetFileName(config.ConfigPath)} (the proxy reads the file again when it is saved)");
            }
            var decoy = await passwords.VerifyAsync(null, decoyHash, password, clientAddress, cancellationToken, Turn(loginName, clientAddress),
                check => RecordFailure(check is PasswordCheck.Match or PasswordCheck.Mismatch, loginName, clientAddress));
            if (decoy is PasswordCheck.Busy or PasswordCheck.TooManyFailures)
            {
                var text = decoy == PasswordCheck.Busy ? Busy : TooManyFailures;
                return LoginOutcome.Fail(LoginFailure.Unavailable, text, logReason: $"{text} (login name '{shownName}', not an account)");
            }
            return LoginOutcome.Fail(LoginFailure.UnknownAccount, WrongCredentials,
                logReason: $"There is no account '{shownName}' in the proxy's configuration (the client is told: {WrongCredentials})");
        }
        var passwordHash = account.PasswordHash;
        if (account.Template is not null)
        {
            var snapshot = await tokens.SnapshotAsync(account, cancellationToken);
            if (snapshot.Unreadable is { } unreadable)
            {
                // Not a first sign-in: its password hash may be kept in the store that cannot be read now.
                return LoginOutcome.Fail(LoginFailure.TokenUnavailable, $"Account {account.Name}: {unreadable}", account);
            }
            passwordHash = snapshot.PasswordHash;
            if (passwordHash is null)
            {
                // Its first sign-in makes its password: until then a login grants nothing, whatever it sent.
                return SignInManager.DefaultMethod(account) == SignInMethod.DeviceCode
                    ? await SignInNeededAsync(account, account, "its first sign-in, which makes the password to log in with from then on", null, cancellationToken,
                        afterDeviceCode: $"then log in again with that password: once the code is entered, the proxy's page {signIns.SignInPageFor(account).AbsoluteUri} shows it, once (\"Show the password\"), or `emailproxy auth {account.Name}` run on the proxy's host signs in and prints it")
                    : await SignInNeededAsync(account, account, "its first sign-in, whose last page shows the password to log in with from then on", null, cancellationToken);
            }
        }
        if (passwordHash is { } hash)
        {
            var check = await passwords.VerifyAsync(account.Name, hash, password, clientAddress, cancellationToken, Turn(loginName, clientAddress),
                result => RecordFailure(result == PasswordCheck.Mismatch, loginName, clientAddress));
            if (check is PasswordCheck.Busy or PasswordCheck.TooManyFailures)
            {
                return LoginOutcome.Fail(LoginFailure.Unavailable, check == PasswordCheck.Busy ? Busy : TooManyFailures, account);
            }
            if (check == PasswordCheck.Mismatch)
            {
                return LoginOutcome.Fail(LoginFailure.WrongPassword, WrongCredentials, account,
                    logReason: $"Wrong password for account {account.Name} (checked against its password_hash)");
            }
        }
        var server = config.Servers[account.ServerName];
        if (protocol.HostOf(server) is null && protocol.NeedsUpstreamHost(account))
        {
            return LoginOutcome.Fail(LoginFailure.Unavailable,
                $"Account {account.Name}: [server {server.Name}] has no {protocol.HostKey}, so {protocol.Name} cannot be used with it", account);
        }

        // token_from: the delegate's tokens (its sign-in, its refreshes), this account's own username upstream.
        var tokenAccount = account.TokenFrom is { } from && config.Accounts.TryGetValue(from, out var delegateAccount) ? delegateAccount : account;
        var (token, waited) = await GetTokenAsync(tokenAccount, config.General.WaitForAuthorization, cancellationToken);
        if (token.Kind != TokenOutcomeKind.Token)
        {
            return token.Kind == TokenOutcomeKind.SignInRequired
                ? await SignInNeededAsync(account, tokenAccount, token.Message, waited, cancellationToken)
                : LoginOutcome.Fail(LoginFailure.TokenUnavailable, $"Account {account.Name}: {token.Message}", account);
        }

        // An app-only token is accepted by Exchange even where the app may not open the mailbox: probed once before the client hears OK.
        var probeMailbox = account.Flow == OAuthFlow.ClientCredentials;
        var result = await protocol.LoginForAsync(account, server, token.AccessToken!, cancellationToken, probeMailbox);
        if (result.RejectedText is not null && result.TokenRefused)
        {
            // Expired early, revoked, or minted before a permission change: one fresh token, one more try.
            await tokens.InvalidateAsync(tokenAccount, token.AccessToken!, cancellationToken);
            var retry = await tokens.GetAccessTokenAsync(tokenAccount, cancellationToken);
            if (retry.Kind == TokenOutcomeKind.Token && retry.AccessToken != token.AccessToken)
            {
                result = await protocol.LoginForAsync(account, server, retry.AccessToken!, cancellationToken, probeMailbox);
            }
            else if (retry.Kind == TokenOutcomeKind.SignInRequired)
            {
                return await SignInNeededAsync(account, tokenAccount, retry.Message, null, cancellationToken);
            }
            else if (retry.Kind == TokenOutcomeKind.Failed)
            {
                // The token was refused and a fresh one cannot be had right now: worth trying again later.
                return LoginOutcome.Fail(LoginFailure.TokenUnavailable,
                    $"Account {account.Name}: {server.Name} refused the OAuth2 token (\"{result.RejectedText}\"), and {retry.Message}", account);
            }
        }
        if (result.Succeeded)
        {
            return LoginOutcome.Success(account, result);
        }
        if (result.UnavailableReason is { } reason)
        {
            return LoginOutcome.Fail(LoginFailure.Unavailable, $"Account {account.Name}: {reason}", account);
        }
        if (result.Worded)
        {
            return LoginOutcome.Fail(LoginFailure.Rejected, $"Account {account.Name}: {result.RejectedText}", account);
        }
        var hint = ProviderErrorMapping.HintFor(account, protocol, result.RejectedText!);
        return LoginOutcome.Fail(LoginFailure.Rejected,
            $"Account {account.Name}: {server.Name} refused the OAuth2 token for {account.Username}: \"{result.RejectedText}\"{(hint is null ? "" : " " + hint)}", account);
    }

    /// <summary>A failed check counts for the next turn; recorded while the address's share of the pool is still held, so a burst cannot outrun it.</summary>
    private void RecordFailure(bool failed, string loginName, IPAddress? clientAddress)
    {
        if (failed)
        {
            throttle.RecordFailure(loginName, clientAddress);
        }
    }

    /// <summary>The throttle's wait for this client, taken by the pool just before the check (inside the address's share of it).</summary>
    private Func<CancellationToken, Task<bool>> Turn(string loginName, IPAddress? clientAddress) =>
        cancellationToken => throttle.WaitTurnAsync(loginName, clientAddress, cancellationToken);

    /// <summary>
    /// The account's access token; with <c>wait_for_authorization</c>, a login that finds none waits
    /// that long for the sign-in it starts or joins (browser or device code) and returns it as
    /// <c>Waited</c> when it did not end with tokens.
    /// </summary>
    private async Task<(TokenOutcome Token, PendingSignIn? Waited)> GetTokenAsync(AccountOptions account, TimeSpan waitForAuthorization, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAccessTokenAsync(account, cancellationToken);
        if (token.Kind != TokenOutcomeKind.SignInRequired || waitForAuthorization <= TimeSpan.Zero)
        {
            return (token, null);
        }
        var pending = await signIns.StartOrJoinAsync(account, cancellationToken: cancellationToken);
        try
        {
            if ((await pending.Completion.WaitAsync(waitForAuthorization, cancellationToken)).Succeeded)
            {
                return (await tokens.GetAccessTokenAsync(account, cancellationToken), null);
            }
        }
        catch (TimeoutException)
        {
            // Fall through: the client is told what to open.
        }
        return (token, pending);
    }

    /// <summary>
    /// Starts or joins the sign-in of <paramref name="signInAccount"/> (the account itself, or the one its token_from names)
    /// and tells the client what to do (<see cref="SignInText"/>).
    /// </summary>
    /// <param name="afterDeviceCode">What the person does once a device code is entered, instead of "then log in again".</param>
    private async Task<LoginOutcome> SignInNeededAsync(AccountOptions account, AccountOptions signInAccount, string reason, PendingSignIn? waited, CancellationToken cancellationToken,
        string? afterDeviceCode = null)
    {
        // A device code the provider refused to give a moment ago is not asked for twice in one login.
        var pending = waited is { Method: SignInMethod.DeviceCode, UserCode: null }
            ? waited
            : await signIns.StartOrJoinAsync(signInAccount, cancellationToken: cancellationToken);
        var text = SignInText(signInAccount, reason, pending, afterDeviceCode);
        return LoginOutcome.Fail(LoginFailure.SignInRequired,
            ReferenceEquals(account, signInAccount) ? text : $"Account {account.Name} uses the sign-in of account {signInAccount.Name} (token_from). {text}", account);
    }

    /// <summary>
    /// The one line a client hears when the account needs a sign-in: why, and what the person does,
    /// by the way the sign-in goes: a device code (where to enter which code); a browser sign-in whose
    /// redirect the proxy serves (its own short sign-in page); one whose address is pasted back
    /// (<c>local_server_auth = false</c>: the provider's authorize URL itself, and the command to paste
    /// into). The last failed sign-in, if any, follows, so that a declined or expired code, or the
    /// wrong person, is seen by whoever logs in next.
    /// </summary>
    /// <remarks>
    /// A template account's first device-code sign-in says where its generated password is then shown
    /// (<paramref name="afterDeviceCode"/>): nobody is at a page of the proxy when the code is entered elsewhere.
    /// </remarks>
    internal string SignInText(AccountOptions account, string reason, PendingSignIn pending, string? afterDeviceCode = null)
    {
        var needs = $"Account {account.Name} needs an OAuth2 sign-in with {account.ProviderDisplayName} ({reason})";
        var lastFailure = signIns.LastFailure(account) is { } failure ? $" (the last sign-in failed: {failure.Message})" : "";
        if (pending.Method == SignInMethod.DeviceCode)
        {
            return pending.VerificationUri is { } verification && pending.UserCode is { } code
                ? $"{needs}: open {verification.AbsoluteUri} and enter {code} (sign in as {account.Username}), {afterDeviceCode ?? "then log in again"}{lastFailure}"
                : $"{needs}, but no device code could be had: {(pending.Completion.IsCompletedSuccessfully ? pending.Completion.Result.Message : "see the proxy's log")}; the next login asks again";
        }
        if (pending.Method == SignInMethod.Browser && pending.AuthorizeUrl is null && pending.Completion.IsCompletedSuccessfully)
        {
            // An issuer whose discovery document cannot be read: nothing to open yet.
            return $"{needs}, but it cannot start: {pending.Completion.Result.Message}; the next login tries again";
        }
        if (!live.Current.General.LocalServerAuth && pending.AuthorizeUrl is { } authorize)
        {
            return $"{needs}: open {authorize.AbsoluteUri} in a browser, sign in as {account.Username}, then copy the address the browser ends on (even an error page) into `emailproxy auth {account.Name}` and log in again{lastFailure}";
        }
        return $"{needs}: open {signIns.SignInPageFor(account).AbsoluteUri} in a browser, sign in as {account.Username}, then log in again{lastFailure}";
    }
}
