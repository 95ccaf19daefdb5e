using System.Security.Cryptography;
using System.Text;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Redis;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// The sign-ins people do: in a browser with the authorization code flow (PKCE S256, a random
/// <c>state</c> checked on return, <c>login_hint</c>; each lives <see cref="Lifetime"/>), or with a
/// device code (RFC 8628, in the DeviceCode part of this class). One sign-in per account at a time:
/// concurrent logins and the CLI join it. The last failed one is remembered per account
/// (<see cref="LastFailure"/>) until one succeeds, so that the next login can say what went wrong.
/// Disposed when the proxy stops: device-code polling ends with it. With <c>token_store = redis</c> (<paramref name="shared"/>)
/// the sign-ins are shared among the replicas (the Shared part of this class); without it, nothing leaves this process.
/// </summary>
/// <param name="live">The configuration in effect, to find the account of a sign-in another replica started (null: <paramref name="config"/>).</param>
internal sealed partial class SignInManager(ProxyConfig config, OAuthClient client, TokenService tokens, TimeProvider time, ILogger<SignInManager> log,
    RedisSignInStore? shared = null, LiveConfig? live = null) : IDisposable
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingSignIn> _byAccount = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, PendingSignIn> _byState = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SignInCompletion> _lastFailure = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Per account, how many times a reload changed its OAuth settings or removed it (<see cref="EndSignInsOf"/>).</summary>
    private readonly Dictionary<string, int> _generations = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Cancelled by <see cref="Dispose"/>: the device-code requests and polls carry it. Never disposed itself, so that its token stays readable.</summary>
    private readonly CancellationTokenSource _stopping = new();
    private bool _disposed;

    public string RedirectUri => config.General.RedirectUri.OriginalString;

    /// <summary>The proxy's own page that sends the browser on to the provider (short enough for a client's error text).</summary>
    public Uri SignInPageFor(AccountOptions account) =>
        new(config.General.RedirectUri, $"/accounts/{Uri.EscapeDataString(account.Name)}/signin");

    /// <summary>The sign-in under way for the account, if any (not expired, not completed).</summary>
    public PendingSignIn? Current(AccountOptions account)
    {
        lock (_gate)
        {
            return _byAccount.TryGetValue(account.Name, out var pending) && pending.ExpiresAt > time.GetUtcNow() && !pending.Completion.IsCompleted
                ? pending
                : null;
        }
    }

    /// <summary>The account whose browser sign-in under way carries <paramref name="state"/>, if any; the sign-in is left as it is.</summary>
    public AccountOptions? AccountOfState(string? state)
    {
        lock (_gate)
        {
            return state is not null && _byState.TryGetValue(state, out var pending) && pending.ExpiresAt > time.GetUtcNow() ? pending.Account : null;
        }
    }

    /// <summary>
    /// The last sign-in of the account that ended without tokens (declined, expired, refused, the
    /// wrong person), until one succeeds; null when there is none. Its message is one line.
    /// </summary>
    public SignInCompletion? LastFailure(AccountOptions account)
    {
        lock (_gate)
        {
            return _lastFailure.GetValueOrDefault(account.Name);
        }
    }

    /// <summary>The method an account signs in with unless one is asked for: device code for <c>flow = device_code</c>, else the browser.</summary>
    public static SignInMethod DefaultMethod(AccountOptions account) =>
        account.Flow == OAuthFlow.DeviceCode ? SignInMethod.DeviceCode : SignInMethod.Browser;

    /// <summary>
    /// Starts a browser sign-in for the account, or joins the one under way. With no
    /// <paramref name="method"/> any sign-in under way is joined (a device code the CLI started, say);
    /// with one, only a sign-in of that method is. A device code must be asked for from the provider:
    /// use <see cref="StartOrJoinAsync"/> for it (here it can only be joined).
    /// </summary>
    public PendingSignIn StartOrJoin(AccountOptions account, SignInMethod? method = null)
    {
        PendingSignIn pending;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (UnderWay(account, now) is { } existing && (method is null || existing.Method == method))
            {
                return existing;
            }
            if ((method ?? DefaultMethod(account)) == SignInMethod.DeviceCode)
            {
                throw new InvalidOperationException("A device code is asked for from the provider: use StartOrJoinAsync.");
            }
            if (_byAccount.TryGetValue(account.Name, out var old) && (old.ExpiresAt <= now || old.Completion.IsCompleted))
            {
                Forget(old);
            }
            // A browser sign-in that replaces one of another method leaves it to end on its own.
            pending = Create(account, now);
            _byAccount[account.Name] = pending;
            _byState[pending.State] = pending;
        }
        LogSignInNeeded(log, account.Name, account.ProviderDisplayName, pending.AuthorizeUrl!.AbsoluteUri);
        return pending;
    }

    /// <summary>
    /// Completes a browser sign-in from the address the browser ended on, pasted by the person
    /// (<c>local_server_auth = false</c>): state and PKCE are checked exactly as for the served redirect.
    /// </summary>
    /// <remarks>
    /// The address must carry the state of THIS account's browser sign-in under way: a state that is
    /// unknown, expired or already used, or that belongs to another account's sign-in, is refused with
    /// one line and touches no sign-in (another account's stays pending and completable). Only then
    /// does it go the served redirect's way (<see cref="CompleteAsync"/>), which takes the state once.
    /// </remarks>
    public async Task<SignInCompletion> CompletePastedAsync(AccountOptions account, string pastedAddress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pasted = PastedRedirect.Parse(pastedAddress);
        if (pasted.Problem is { } problem)
        {
            return new SignInCompletion(false, account, $"The pasted address cannot be used for account {account.Name}: {problem}.");
        }
        PendingSignIn? pending;
        lock (_gate)
        {
            _byState.TryGetValue(pasted.State!, out pending);
        }
        if (pending is not null && pending.ExpiresAt > time.GetUtcNow() && Outdated(pending))
        {
            LogSignInOfOldSettings(log, pending.Account.Name);
            return SettingsChanged(pending.Account);
        }
        if (pending is null && shared is not null)
        {
            // Started on another replica: its account is checked before the state is taken.
            var (other, unavailable) = await PeekSharedAsync(account, pasted.State!, cancellationToken);
            if (unavailable is not null)
            {
                return unavailable;
            }
            if (other is not null)
            {
                return string.Equals(other, account.Name, StringComparison.OrdinalIgnoreCase)
                    ? await CompleteAsync(pasted.State, pasted.Code, pasted.Error, pasted.ErrorDescription)
                    : OtherAccountPasted(account);
            }
        }
        if (pending is null || pending.ExpiresAt <= time.GetUtcNow() || pending.Completion.IsCompleted)
        {
            LogPastedStateUnknown(log, account.Name);
            return new SignInCompletion(false, account,
                $"The pasted address belongs to a sign-in that is unknown or expired (sign-ins live {Lifetime.TotalMinutes:0} minutes, and each address works once): start the sign-in of account {account.Name} again and paste the address it ends on.");
        }
        if (!string.Equals(pending.Account.Name, account.Name, StringComparison.OrdinalIgnoreCase))
        {
            return OtherAccountPasted(account);
        }
        return await CompleteAsync(pasted.State, pasted.Code, pasted.Error, pasted.ErrorDescription);
    }

    private SignInCompletion OtherAccountPasted(AccountOptions account)
    {
        LogPastedStateOfOtherAccount(log, account.Name);
        return new SignInCompletion(false, account,
            $"This address belongs to another sign-in (another account's), not to the sign-in of account {account.Name}: nothing was changed; paste it where that sign-in was started, or sign in again for {account.Name}.");
    }

    /// <summary>
    /// Handles the browser's return to the redirect URI and returns the text for the page. The
    /// code is redeemed and the tokens saved whatever the browser does meanwhile (a code is
    /// single-use): only the token endpoint's own time limit bounds it.
    /// </summary>
    /// <param name="logUnknownInFull">Asked only for an unknown state: whether it is logged as a warning (else
    /// at Debug); the caller bounds them per client address, as the redirect path is open without
    /// admin_password. Null: always.</param>
    public async Task<SignInCompletion> CompleteAsync(string? state, string? code, string? error, string? errorDescription, Func<bool>? logUnknownInFull = null)
    {
        PendingSignIn? pending = null;
        if (state is not null && shared is not null)
        {
            // Taken from Redis exactly once, whichever replica started it: a redirect replayed to another replica finds nothing.
            var (taken, unavailable) = await TakeSharedAsync(state);
            if (unavailable is not null)
            {
                return unavailable;
            }
            pending = taken;
        }
        else if (state is not null)
        {
            lock (_gate)
            {
                if (_byState.TryGetValue(state, out pending))
                {
                    Forget(pending);
                }
            }
        }
        if (pending is null || pending.ExpiresAt <= time.GetUtcNow())
        {
            LogUnknownState(log, logUnknownInFull?.Invoke() ?? true ? LogLevel.Warning : LogLevel.Debug);
            return new SignInCompletion(false, null, "This sign-in is unknown or has expired (sign-ins live 10 minutes). Start it again from the proxy's status page or by logging in from your mail client.");
        }
        if (pending.SharedId is null)
        {
            return await RedeemAsync(pending, code, error, errorDescription);
        }
        SignInCompletion? completion = null;
        try
        {
            return completion = await RedeemAsync(pending, code, error, errorDescription);
        }
        finally
        {
            // Every replica hears how it ended (RedeemAsync has completed it here whatever happened).
            await AnnounceAsync(pending, completion ?? await pending.Completion);
        }
    }

    /// <summary>The browser sign-in whose state the redirect carried, taken (by this replica alone): its code redeemed and its tokens saved, or why not.</summary>
    private async Task<SignInCompletion> RedeemAsync(PendingSignIn pending, string? code, string? error, string? errorDescription)
    {
        var account = pending.Account;
        if (Outdated(pending))
        {
            // Ended by a reload (EndSignInsOf): its client, scopes or endpoints are not the account's any more.
            LogSignInOfOldSettings(log, account.Name);
            return SettingsChanged(account);
        }
        if (error is not null || string.IsNullOrEmpty(code))
        {
            // The browser brought these in the redirect's query string: whoever sent it chose them.
            var text = $"{ClientText.Sanitize(error ?? "no code")}{(errorDescription is null ? "" : ": " + ClientText.Sanitize(errorDescription, 500))}";
            LogSignInFailed(log, account.Name, text);
            var refused = new SignInCompletion(false, account, $"{account.ProviderDisplayName} did not sign in account {account.Name}: {text}");
            pending.Complete(refused);
            return refused;
        }

        try
        {
            // With the redirect URI the authorize request named (another replica's, for a sign-in started there).
            var result = await client.RedeemCodeAsync(account, code, pending.CodeVerifier, pending.RedirectUri ?? RedirectUri, CancellationToken.None);
            if (result.IsError)
            {
                LogSignInFailed(log, account.Name, result.ErrorText);
                var failed = new SignInCompletion(false, account, $"The sign-in of account {account.Name} failed when the code was redeemed: {result.ErrorText}");
                pending.Complete(failed);
                return failed;
            }
            return await FinishAsync(pending, result);
        }
        finally
        {
            // Logins waiting on it (wait_for_authorization) hear an outcome whatever happened (a no-op once completed).
            pending.Complete(new SignInCompletion(false, account, $"The sign-in of account {account.Name} ended without tokens; see the proxy's log"));
        }
    }

    /// <summary>
    /// The end every sign-in shares, whatever its flow: the identity check, then the tokens saved and
    /// used, then everyone waiting on <paramref name="pending"/> told (logins with wait_for_authorization, the CLI).
    /// </summary>
    private async Task<SignInCompletion> FinishAsync(PendingSignIn pending, TokenEndpointResult result)
    {
        var account = pending.Account;
        SignInCompletion completion;
        Action logOutcome;
        GeneratedPassword? password = null;
        var closeWindow = pending.Method == SignInMethod.Browser ? ". You can close this window;" : ";";
        var verdict = SignInIdentity.Check(account, result, log);
        if (Outdated(pending))
        {
            // A reload changed the account's settings while the code was redeemed: tokens of the old ones are not taken.
            logOutcome = () => LogSignInOfOldSettings(log, account.Name);
            completion = SettingsChanged(account);
        }
        else if (!verdict.Accepted)
        {
            logOutcome = () => LogSignInFailed(log, account.Name, verdict.Message!);
            completion = new SignInCompletion(false, account, verdict.Message!, verdict.Identity);
        }
        // "Tokens saved" only once they are: a failed save was logged by the token service.
        else if (await SaveAsync(pending, result, verdict.Identity, password = await NewTemplatePasswordAsync(account)))
        {
            logOutcome = () => LogSignedIn(log, account.Name, account.ProviderDisplayName);
            completion = new SignInCompletion(true, account,
                $"Account {account.Name} is signed in with {account.ProviderDisplayName}{As(verdict.Identity)}{closeWindow} mail clients can log in now{PasswordNote(password)}.", verdict.Identity, password);
        }
        else
        {
            logOutcome = () => LogSignedInNotSaved(log, account.Name, account.ProviderDisplayName);
            completion = new SignInCompletion(true, account,
                $"Account {account.Name} is signed in with {account.ProviderDisplayName}{As(verdict.Identity)}, and mail clients can log in now{PasswordNote(password)}, but its tokens could not be saved (see the proxy's log): after a restart it will need a new sign-in.", verdict.Identity, password);
        }
        if (completion.Succeeded && account.Template is not null)
        {
            config.Created.Keep(account.Name, account.Template);
        }
        if (completion.Password is { } made)
        {
            // Held before anyone hears the end: a device code's end has nobody to show it to but the status page.
            await Unshown.HoldAsync(account.Name, made, _stopping.Token);
        }
        // Completed before the outcome is logged: whoever acts on the log line (an operator, a test) finds the
        // sign-in over, on the status page too, not still under way.
        pending.Complete(completion);
        logOutcome();
        return completion;
    }

    /// <summary>
    /// Takes a sign-in's tokens. When a reload changed the account's settings just as they were saved (after
    /// <see cref="FinishAsync"/> checked), its access token is dropped as the reload dropped the others' (<see cref="TokenService.ForgetAccessTokenAsync"/>).
    /// </summary>
    private async Task<bool> SaveAsync(PendingSignIn pending, TokenEndpointResult result, string? identity, GeneratedPassword? password)
    {
        var saved = await tokens.AcceptSignInAsync(pending.Account, result, CancellationToken.None, identity, password?.Hash);
        if (Outdated(pending))
        {
            await tokens.ForgetAccessTokenAsync(pending.Account, CancellationToken.None);
        }
        return saved;
    }

    /// <summary>
    /// The generated passwords whose sign-in ended with nobody to show them to (a device code), until the status page
    /// shows one (<see cref="UnshownPasswords"/>).
    /// </summary>
    public UnshownPasswords Unshown { get; } = new(shared, log);

    /// <summary>
    /// The client password of an account made from a template, made at its first sign-in (when no password is stored with its
    /// tokens yet), or again when the one made before was never shown to anyone (<see cref="Unshown"/>); null for any other
    /// account, and for a new sign-in of one whose password was shown (it stays as it was).
    /// </summary>
    /// <remarks>
    /// A shared store that cannot be read now (<see cref="TokenSnapshot.Unreadable"/>) may hold a password that works: none is
    /// made then, and the one stored is kept when the sign-in's tokens are written (<see cref="TokenService.AcceptSignInAsync"/>).
    /// </remarks>
    private async Task<GeneratedPassword?> NewTemplatePasswordAsync(AccountOptions account)
    {
        if (account.Template is null)
        {
            return null;
        }
        if (!await Unshown.IsWaitingAsync(account.Name, _stopping.Token))
        {
            var snapshot = await tokens.SnapshotAsync(account, CancellationToken.None);
            if (snapshot.Unreadable is not null || snapshot.PasswordHash is not null)
            {
                return null;
            }
        }
        return await Task.Run(GeneratedPassword.New);
    }

    private static string PasswordNote(GeneratedPassword? password) =>
        password is null ? "" : " with the password shown with this message, once only (the proxy keeps only its hash): enter it as the account's password in the mail client";

    private static string As(string? identity) => identity is null ? "" : $" as {identity}";

    /// <summary>The account's sign-in that is neither expired nor ended, if any (called under the gate).</summary>
    private PendingSignIn? UnderWay(AccountOptions account, DateTimeOffset now) =>
        _byAccount.TryGetValue(account.Name, out var pending) && pending.ExpiresAt > now && !pending.Completion.IsCompleted ? pending : null;

    /// <summary>
    /// Every sign-in's end passes here (<see cref="PendingSignIn.Completing"/>), before anyone waiting
    /// hears it: a success forgets the account's last failure; a failure becomes it, unless a newer
    /// sign-in of the account is under way (an old code that expires says nothing about the new one).
    /// </summary>
    private void OnCompleting(PendingSignIn pending, SignInCompletion completion)
    {
        lock (_gate)
        {
            _mirrored.Remove(pending);
            if (completion.Succeeded)
            {
                _lastFailure.Remove(pending.Account.Name);
            }
            else if (UnderWay(pending.Account, time.GetUtcNow()) is not { } current || current == pending)
            {
                _lastFailure[pending.Account.Name] = completion with { Message = ClientText.Sanitize(completion.Message, MaxFailureLength) };
            }
        }
    }

    /// <summary>
    /// A reload changed the account's OAuth settings or removed it: its sign-in under way was started with
    /// the old ones and ends now ("the account's settings changed; sign in again"), a device code's polling
    /// stops, and a redirect, pasted address, device code or redeemed code that comes later for it is refused
    /// with that text, its tokens not taken. The next sign-in starts with the new settings.
    /// </summary>
    public void EndSignInsOf(string accountName)
    {
        PendingSignIn? pending;
        lock (_gate)
        {
            _generations[accountName] = GenerationOf(accountName) + 1;
            // A device authorization on its way finds itself outdated when it comes; the next start asks anew.
            _deviceStarts.Remove(accountName);
            _byAccount.Remove(accountName, out pending);
            // A browser sign-in's state stays known until it expires, so that its redirect hears why it is refused.
            var now = time.GetUtcNow();
            foreach (var expired in _byState.Where(entry => entry.Value.ExpiresAt <= now).Select(entry => entry.Key).ToList())
            {
                _byState.Remove(expired);
            }
        }
        if (pending is null || pending.Completion.IsCompleted)
        {
            return;
        }
        LogSignInOfOldSettings(log, pending.Account.Name);
        pending.Complete(SettingsChanged(pending.Account));
        lock (_gate)
        {
            // Under the gate: the poll forgets its source under it too, before disposing of it.
            if (_polls.TryGetValue(pending, out var poll))
            {
                poll.Cancel();
            }
        }
    }

    /// <summary>The account's settings generation (called under the gate).</summary>
    private int GenerationOf(string accountName) => _generations.GetValueOrDefault(accountName);

    /// <summary>Whether a reload changed the account's settings since <paramref name="pending"/> started.</summary>
    private bool Outdated(PendingSignIn pending)
    {
        lock (_gate)
        {
            return GenerationOf(pending.Account.Name) != pending.Generation;
        }
    }

    private static SignInCompletion SettingsChanged(AccountOptions account) => new(false, account, SettingsChangedText(account.Name));

    private static string SettingsChangedText(string accountName) =>
        $"The sign-in of account {accountName} was started with OAuth settings that a reload of the configuration has replaced: the account's settings changed; sign in again.";

    /// <summary>How much of a failure's message is remembered (it goes into a login's one-line answer).</summary>
    public const int MaxFailureLength = 400;

    /// <summary>Stops every device-code request and poll: their sign-ins end with "the proxy stopped"; no new one starts.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _stopping.Cancel();
    }

    private PendingSignIn Create(AccountOptions account, DateTimeOffset now)
    {
        var state = CryptoRandom.CreateUniqueId(32);
        var verifier = CryptoRandom.CreateUniqueId(64);
        var challenge = System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        // The configuration reader requires an authorize URL for flow = authorization_code.
        var authorizeUrl = account.AuthorizeUrl ?? throw new InvalidOperationException($"Account {account.Name} has no authorize_url: it cannot sign in in a browser.");
        var url = new RequestUrl(authorizeUrl.AbsoluteUri).CreateAuthorizeUrl(
            clientId: account.ClientId,
            responseType: OidcConstants.ResponseTypes.Code,
            scope: SignInIdentity.ScopeFor(account),
            redirectUri: RedirectUri,
            state: state,
            loginHint: account.Username,
            responseMode: OidcConstants.ResponseModes.Query,
            codeChallenge: challenge,
            codeChallengeMethod: OidcConstants.CodeChallengeMethods.Sha256,
            extra: new Parameters(Providers.ProviderEndpoints.AuthorizeParameters(account.Provider)));
        return new PendingSignIn(account, state, verifier, new Uri(url), now + Lifetime)
        {
            Completing = OnCompleting,
            Generation = GenerationOf(account.Name),
            RedirectUri = RedirectUri,
            SharedId = shared is null ? null : RedisSignInStore.Hash(state),
        };
    }

    private void Forget(PendingSignIn pending)
    {
        _byState.Remove(pending.State);
        if (_byAccount.TryGetValue(pending.Account.Name, out var current) && current == pending)
        {
            _byAccount.Remove(pending.Account.Name);
        }
    }

    [LoggerMessage(EventId = 2001, EventName = "SignInNeeded", Level = LogLevel.Information,
        Message = "OAuth2 sign-in needed for account {Account} with {Provider}: open {AuthorizeUrl}")]
    private static partial void LogSignInNeeded(ILogger logger, string account, string provider, string authorizeUrl);

    [LoggerMessage(EventId = 2002, EventName = "SignedIn", Level = LogLevel.Information,
        Message = "OAuth2 sign-in of account {Account} with {Provider} succeeded; tokens saved")]
    private static partial void LogSignedIn(ILogger logger, string account, string provider);

    [LoggerMessage(EventId = 2005, EventName = "SignedInNotSaved", Level = LogLevel.Warning,
        Message = "OAuth2 sign-in of account {Account} with {Provider} succeeded, but its tokens could not be saved (see the error above): they are used from memory until the proxy stops")]
    private static partial void LogSignedInNotSaved(ILogger logger, string account, string provider);

    [LoggerMessage(EventId = 2003, EventName = "SignInFailed", Level = LogLevel.Warning,
        Message = "OAuth2 sign-in of account {Account} failed: {Error}")]
    private static partial void LogSignInFailed(ILogger logger, string account, string error);

    [LoggerMessage(EventId = 2006, EventName = "SignInOfOldSettings", Level = LogLevel.Warning,
        Message = "A sign-in of account {Account} was started before a reload changed the account's OAuth settings: the account's settings changed; it is ended and its tokens are not taken, sign in again")]
    private static partial void LogSignInOfOldSettings(ILogger logger, string account);

    [LoggerMessage(EventId = 2090, EventName = "PastedSignInStateUnknown", Level = LogLevel.Warning,
        Message = "An address pasted for account {Account} carries an unknown, expired or used sign-in state; ignored")]
    private static partial void LogPastedStateUnknown(ILogger logger, string account);

    [LoggerMessage(EventId = 2091, EventName = "PastedSignInStateOfOtherAccount", Level = LogLevel.Warning,
        Message = "An address pasted for account {Account} carries the state of another account's sign-in; ignored, that sign-in is left as it was")]
    private static partial void LogPastedStateOfOtherAccount(ILogger logger, string account);

    [LoggerMessage(EventId = 2004, EventName = "SignInStateUnknown",
        Message = "A sign-in redirect arrived with an unknown or expired state; ignored")]
    private static partial void LogUnknownState(ILogger logger, LogLevel level);
}
