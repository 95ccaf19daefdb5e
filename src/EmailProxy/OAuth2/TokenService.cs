using System.Collections.Concurrent;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Providers;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// Keeps each account's tokens fresh. An access token is handed out while more than
/// <see cref="RefreshMargin"/> of its life is left; past that it is refreshed, once per account
/// however many logins wait on it. A rotated refresh token is saved before the new access token is
/// handed out. <c>invalid_grant</c> marks the account as needing a sign-in until one succeeds.
/// An app-only account (client credentials) has no refresh token and never needs a sign-in: its
/// refresh is a new client-credentials request, run and shared exactly like a refresh.
/// </summary>
/// <remarks>
/// Locking — one mechanism, per account (<see cref="AccountState"/>):
/// <list type="number">
/// <item>What the proxy knows of an account's tokens is one immutable <see cref="TokenSnapshot"/>.
/// Readers take the current snapshot without any lock and decide from it alone.</item>
/// <item><c>Gate</c> (a <see cref="SemaphoreSlim"/> of one) is the only lock. Every change is made
/// holding it: a new snapshot (first load, new tokens, <c>invalid_grant</c>, a refused token
/// dropped) and the start or end of the running refresh. So no change is lost to another, and a
/// change is decided on the snapshot it replaces.</item>
/// <item>New tokens are taken in one place, <see cref="SaveAndApplyAsync"/>, under <c>Gate</c>: saved
/// first, then published, so the file and memory agree on the newest tokens and a token is never
/// used before it is saved.</item>
/// <item>The token endpoint is called outside <c>Gate</c> (a sign-in may complete meanwhile). When
/// its answer comes, the refresh takes <c>Gate</c> and applies it only if the refresh token it used
/// is still the current one; otherwise newer tokens won and the answer is dropped.</item>
/// <item>Single flight: the running refresh is a task set under <c>Gate</c> and awaited by every
/// caller that needs it; the first load is one task every caller awaits before anything else.</item>
/// </list>
/// </remarks>
internal sealed partial class TokenService(OAuthClient client, ITokenStore store, TimeProvider time, ILogger<TokenService> log)
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, AccountState> _states = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Tokens of a refresh that a shared store could not keep (Redis away), by account, with the version of the record they
    /// were meant to replace: newer than the store's, so never replaced by them; written with a compare-and-set on that version
    /// as soon as the store answers again (<see cref="SettleUnsavedAsync"/>). Outside <see cref="AccountState"/>, which a
    /// change notice from another replica drops.
    /// </summary>
    private readonly ConcurrentDictionary<string, UnsavedTokens> _unsaved = new(StringComparer.OrdinalIgnoreCase);

    public async Task<TokenOutcome> GetAccessTokenAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        if (state.LoadFailure is { } failure)
        {
            // Not known to need a sign-in: its tokens may be in the store, which cannot be read now. Read again at the next use.
            return TokenOutcome.Failed($"its tokens cannot be read: {failure}");
        }
        await WriteUnsavedAsync(account, state, cancellationToken);
        var outcome = Usable(account, state.Current, RefreshMargin);
        // A store other replicas write: one of them may have signed the account in since this one read it.
        if (outcome is { Kind: TokenOutcomeKind.SignInRequired } && store.IsShared)
        {
            try
            {
                if (await AdoptNewerFromStoreAsync(account, state, cancellationToken))
                {
                    outcome = Usable(account, state.Current, RefreshMargin);
                }
            }
            catch (TokenStoreUnavailableException e)
            {
                // Not known to need a sign-in: its tokens may be in the store, which cannot be read now.
                return TokenOutcome.Failed($"its tokens cannot be read: {e.Message}");
            }
        }
        if (outcome is not null)
        {
            return outcome;
        }
        Task<TokenOutcome>? refresh;
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (Usable(account, state.Current, RefreshMargin) is { } decided)
            {
                return decided;
            }
            refresh = StartOrJoinRefresh(account, state);
        }
        finally
        {
            state.Gate.Release();
        }
        var result = await refresh!.WaitAsync(cancellationToken);
        // A refresh that failed for a passing reason leaves a token that is still valid usable.
        return result.Kind == TokenOutcomeKind.Failed && state.Current is { AccessToken: { } stillValid } current && current.ExpiresAt > time.GetUtcNow()
            ? TokenOutcome.Token(stillValid)
            : result;
    }

    /// <summary>
    /// The background refresh: refreshes a signed-in account whose access token has less than
    /// <see cref="RefreshMargin"/> + <paramref name="lookAhead"/> left, so that the next login finds
    /// a fresh one (sharing a refresh a login may have started). Nothing for an account without a
    /// refresh token or that needs a sign-in. An app-only account gets a new token before its current one
    /// runs out; one without a token yet gets its first with its first login.
    /// </summary>
    public async Task RefreshIfDueAsync(AccountOptions account, TimeSpan lookAhead, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        if (state.LoadFailure is not null)
        {
            return;
        }
        await WriteUnsavedAsync(account, state, cancellationToken);
        if (Usable(account, state.Current, RefreshMargin + lookAhead) is not null
            || (account.Flow == OAuthFlow.ClientCredentials && state.Current.AccessToken is null))
        {
            return;
        }
        Task<TokenOutcome> refresh;
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (Usable(account, state.Current, RefreshMargin + lookAhead) is not null)
            {
                return;
            }
            refresh = StartOrJoinRefresh(account, state);
        }
        finally
        {
            state.Gate.Release();
        }
        await refresh.WaitAsync(cancellationToken);
    }

    /// <summary>The upstream refused this token: forget it so that the next call refreshes.</summary>
    public async Task InvalidateAsync(AccountOptions account, string accessToken, CancellationToken cancellationToken)
    {
        if (!_states.TryGetValue(account.Name, out var state))
        {
            return;
        }
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (state.Current.AccessToken == accessToken)
            {
                state.Current = state.Current with { AccessToken = null };
                state.RefusedAccessToken = accessToken;
            }
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>Takes the tokens of a completed sign-in: saved first, then used.</summary>
    /// <returns>Whether they were saved (when not, they are used from memory and the failure is logged).</returns>
    /// <param name="identity">Who signed in, kept in the token file's readable metadata (null when unknown).</param>
    /// <param name="passwordHash">An account made from a template: the hash of the client password its first sign-in generated (null keeps the one it has).</param>
    public async Task<bool> AcceptSignInAsync(AccountOptions account, TokenEndpointResult result, CancellationToken cancellationToken, string? identity = null, string? passwordHash = null)
    {
        var state = await GetStateAsync(account, cancellationToken);
        if (state.LoadFailure is not null)
        {
            // Read once more (it was not kept): a template account's password hash comes from there.
            state = await GetStateAsync(account, cancellationToken);
        }
        var tokens = new StoredTokens(result.AccessToken, result.ExpiresAt, result.RefreshToken, result.RefreshToken is null ? null : time.GetUtcNow(), identity, passwordHash);
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            // A new sign-in: tokens a refresh could not save are older, and never written now.
            _unsaved.TryRemove(account.Name, out _);
            var saved = await SaveAndApplyAsync(account, state, tokens);
            if (!saved && store is RedisTokenStore shared)
            {
                // Redis away: kept aside too (with the password hash SaveAndApplyAsync kept), and written over whatever the record
                // holds as soon as Redis answers; until then no refresh here or elsewhere takes the record's older tokens for them.
                var kept = state.Current;
                KeepAside(account, shared, tokens with { PasswordHash = kept.PasswordHash }, expectedVersion: null, TokenChange.SignedIn);
            }
            return saved;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Forgets the account's tokens, on disk and in memory (<c>emailproxy tokens clear</c>, the control
    /// endpoint <c>/forget</c>): the next login needs a sign-in. A refresh on its way meanwhile finds
    /// its refresh token gone and drops its answer.
    /// </summary>
    /// <returns>Whether there was anything to forget (a token file, or tokens in memory).</returns>
    /// <exception cref="IOException">The file could not be removed (memory is cleared anyway).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable (memory is cleared anyway).</exception>
    public async Task<bool> ForgetAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            var inMemory = state.Current.AccessToken is not null || state.Current.RefreshToken is not null;
            state.Current = TokenSnapshot.None;
            state.Generation++;
            _unsaved.TryRemove(account.Name, out _);
            OnTokensForgotten(account.Name);
            var onDisk = await store.DeleteAsync(account.Name, cancellationToken);
            LogForgotten(log, account.Name);
            return inMemory || onDisk;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// The account's OAuth settings changed (a reload): the access token in memory was issued under the
    /// old ones and is not handed out again, and a need for a sign-in decided under them is dropped, so
    /// that the next login refreshes with the new settings (the refresh token is kept: it may still work;
    /// if not, the usual sign-in follows). An answer on its way for the old settings is not taken.
    /// </summary>
    public async Task ForgetAccessTokenAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        // Loaded first: a token file read after this would bring the old access token back.
        var state = await GetStateAsync(account, cancellationToken);
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            state.Current = state.Current with { AccessToken = null, SignInReason = null };
            state.Generation++;
            OnTokensForgotten(account.Name);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Forgets what is known of every account, so that each is read again from the store at its next use:
    /// for when another process (an offline <c>emailproxy auth</c>) held the token folder and may have
    /// written tokens meanwhile. A refresh under way finishes on the state it started with.
    /// </summary>
    public void ReloadAll() => _states.Clear();

    /// <summary>
    /// Forgets what is known in memory of one account, so that it is read again from the store at its next use:
    /// for when another replica changed its tokens (a sign-in completed there, <c>tokens clear</c>, invalid_grant, a refresh).
    /// Tokens this replica could not save (Redis away) are not forgotten: they are written, or dropped, when the store is read.
    /// </summary>
    /// <param name="tokensReplaced">Not only refreshed: another sign-in's tokens, or none (a clear, an invalid_grant). What was
    /// redeemed from them (<see cref="TokensForgotten"/>: the Graph token) goes too; after a refresh it stays good.</param>
    public void ForgetCached(string accountName, bool tokensReplaced = false)
    {
        _states.TryRemove(accountName, out _);
        if (tokensReplaced)
        {
            OnTokensForgotten(accountName);
        }
    }

    /// <summary>
    /// Reads the account's tokens from a shared store again and takes them if another replica changed them (a sign-in
    /// there): whether they were taken.
    /// </summary>
    /// <exception cref="TokenStoreUnavailableException">The store cannot be reached now.</exception>
    private async Task<bool> AdoptNewerFromStoreAsync(AccountOptions account, AccountState state, CancellationToken cancellationToken)
    {
        var seen = state.Current;
        if (_unsaved.ContainsKey(account.Name))
        {
            // Newer than the store's: never replaced by them before they are written (or dropped) under the refresh lock.
            return false;
        }
        StoredTokens? stored;
        try
        {
            stored = await store.LoadAsync(account, cancellationToken);
        }
        catch (IOException e) when (e is not TokenStoreUnavailableException)
        {
            LogRereadFailed(log, account.Name, e.Message);
            return false;
        }
        if (stored is null || (stored.RefreshToken == seen.RefreshToken && stored.AccessToken == seen.AccessToken))
        {
            return false;
        }
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (!ReferenceEquals(state.Current, seen))
            {
                // Changed here meanwhile: the caller decides again from what is current.
                return true;
            }
            state.Current = TokenSnapshot.From(stored);
            LogAdoptedFromStore(log, account.Name);
            return true;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// What a caller gets from <paramref name="current"/> without a refresh: a token with more than
    /// <paramref name="margin"/> left, or the need for a sign-in; null when a refresh is due. An app-only
    /// account (client credentials) never needs a sign-in: without a usable token, a new one is due.
    /// </summary>
    private TokenOutcome? Usable(AccountOptions account, TokenSnapshot current, TimeSpan margin)
    {
        if (current.AccessToken is { } token && current.ExpiresAt - time.GetUtcNow() > margin)
        {
            return TokenOutcome.Token(token);
        }
        if (current.SignInReason is { } reason)
        {
            return TokenOutcome.SignIn(reason);
        }
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return null;
        }
        return current.RefreshToken is null ? TokenOutcome.SignIn("it has no token yet") : null;
    }

    /// <summary>
    /// The running refresh of the account, or a new one. The caller holds <c>Gate</c> and has seen a
    /// refresh token, or the account is app-only and its refresh is a client-credentials request.
    /// </summary>
    private Task<TokenOutcome> StartOrJoinRefresh(AccountOptions account, AccountState state)
    {
        var refreshToken = account.Flow == OAuthFlow.ClientCredentials ? null : state.Current.RefreshToken!;
        var started = state.Generation;
        return state.Refreshing ??= Task.Run(() => RefreshAsync(account, state, refreshToken, started), CancellationToken.None);
    }

    /// <summary>
    /// The account's state, loaded first. A load the shared store could not answer is handed out once (its
    /// <see cref="AccountState.LoadFailure"/> says so) and not kept: the next use loads again.
    /// </summary>
    private async Task<AccountState> GetStateAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = _states.GetOrAdd(account.Name, static (_, start) => new AccountState(start.Service.LoadAsync, start.Account), (Service: this, Account: account));
        await state.Loaded.Value.WaitAsync(cancellationToken);
        if (state.LoadFailure is not null)
        {
            _states.TryRemove(new KeyValuePair<string, AccountState>(account.Name, state));
        }
        return state;
    }

    private async Task LoadAsync(AccountOptions account, AccountState state)
    {
        // The store logs and absorbs a damaged file; whatever else goes wrong, the account is
        // "sign-in needed", never broken for good. A shared store that cannot be reached is not a need for a sign-in:
        // the account's tokens are only unknown now.
        StoredTokens? stored;
        try
        {
            if (store is RedisTokenStore shared)
            {
                _unsaved.TryGetValue(account.Name, out var pending);
                var (read, version) = await shared.LoadVersionedAsync(account, CancellationToken.None);
                (stored, _, _) = await SettleUnsavedAsync(account, shared, pending, read, version);
            }
            else
            {
                stored = await store.LoadAsync(account, CancellationToken.None);
            }
        }
        catch (TokenStoreUnavailableException e)
        {
            if (_unsaved.TryGetValue(account.Name, out var unsaved))
            {
                // Newer than anything the store holds for it: used until they can be written.
                state.Current = TokenSnapshot.From(unsaved.Tokens);
                return;
            }
            LogLoadUnavailable(log, account.Name, e.Message);
            state.LoadFailure = e.Message;
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogLoadFailed(log, account.Name, e.Message);
            return;
        }
        if (stored is null)
        {
            return;
        }
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            state.Current = TokenSnapshot.From(stored);
        }
        finally
        {
            state.Gate.Release();
        }
        LogLoaded(log, account.Name, stored.AccessTokenExpiresAt);
    }

    /// <param name="expectedVersion">A shared store's version of the record this refresh started from: the save is a
    /// compare-and-set on it (null: the store is this process's alone).</param>
    private async Task<TokenOutcome> RefreshUnlockedAsync(AccountOptions account, AccountState state, string refreshToken, int generation, long? expectedVersion)
    {
        LogRefreshing(log, account.Name);
        TokenEndpointResult result;
        try
        {
            result = await client.RefreshAsync(account, refreshToken, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The client turns every network and protocol failure into a result; this is a last guard,
            // so that the account's running refresh always ends (and its waiters hear).
            result = new TokenEndpointResult { Error = "the token request failed", ErrorDescription = e.GetType().Name };
        }
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            state.Refreshing = null;
            var current = state.Current;
            // A sign-in that completed while this refresh was on its way wins: its tokens are newer.
            if (current.RefreshToken != refreshToken)
            {
                return current.AccessToken is { } newer ? TokenOutcome.Token(newer) : TokenOutcome.SignIn("a newer sign-in replaced the tokens");
            }
            if (state.Generation != generation)
            {
                // Its settings changed meanwhile (a forget or tokens clear took the refresh token too, above): the
                // access token was asked for with the old ones and is dropped, but a rotated refresh token is kept,
                // saved as any other: with single-use refresh tokens the one this refresh used is spent.
                if (!result.IsError && result.RefreshToken is { } next && next != refreshToken)
                {
                    await SaveRefreshedAsync(account, state, new StoredTokens(null, null, next, time.GetUtcNow(), current.Identity), expectedVersion, TokenChange.Refreshed);
                    LogRotatedKept(log, account.Name);
                }
                return TokenOutcome.Failed("its settings changed while its token was being refreshed; the next login refreshes with the new ones");
            }
            if (result.IsInvalidGrant)
            {
                var reason = $"{account.ProviderDisplayName} refused its refresh token ({result.ErrorText}{Providers.ProviderErrorMapping.RefreshRefusalHint(account)})";
                LogRefreshRefused(log, account.Name, result.ErrorText);
                if (expectedVersion is { } refusedVersion)
                {
                    // A shared store: the refusal is written (the refused token dropped, who signed in and a template account's
                    // password hash kept), so that every replica knows without a refresh request of its own.
                    var refused = new StoredTokens(null, null, null, null, current.Identity, current.PasswordHash, reason);
                    return await SaveIfUnchangedAndApplyAsync(account, state, refused, refusedVersion, TokenChange.Refused)
                        ? TokenOutcome.SignIn(reason)
                        : Usable(account, state.Current, TimeSpan.Zero) ?? TokenOutcome.SignIn(reason);
                }
                state.Current = current with { SignInReason = reason, AccessToken = null };
                return TokenOutcome.SignIn(reason);
            }
            if (result.IsError)
            {
                LogRefreshFailed(log, account.Name, result.ErrorText);
                return TokenOutcome.Failed($"the token refresh with {account.ProviderDisplayName} failed: {result.ErrorText}");
            }
            var rotated = result.RefreshToken is not null && result.RefreshToken != refreshToken;
            var refreshed = new StoredTokens(result.AccessToken, result.ExpiresAt, result.RefreshToken ?? refreshToken, rotated ? time.GetUtcNow() : current.RotatedAt, current.Identity);
            if (!await SaveRefreshedAsync(account, state, refreshed, expectedVersion, TokenChange.Refreshed))
            {
                // Another replica wrote newer tokens meanwhile (its lock lease ran out under this one?): they are kept and taken.
                return Usable(account, state.Current, TimeSpan.Zero) ?? TokenOutcome.Token(result.AccessToken!);
            }
            LogRefreshed(log, account.Name, result.ExpiresAt, rotated);
            return TokenOutcome.Token(result.AccessToken!);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// An app-only account's new access token (client credentials: no refresh token, no person, no
    /// sign-in). A refusal is a failure whose text carries the fix (<see cref="ProviderErrorMapping.TokenRequestFix"/>),
    /// never a need to sign in; the caller keeps using a token that is still valid.
    /// </summary>
    /// <param name="generation">The account's <see cref="AccountState.Generation"/> when the request started: a
    /// forget since then (tokens clear) drops the answer instead of saving it.</param>
    /// <param name="expectedVersion">As for <see cref="RefreshUnlockedAsync"/>: the shared record's version read under the lock.</param>
    private async Task<TokenOutcome> RequestAppTokenAsync(AccountOptions account, AccountState state, int generation, long? expectedVersion)
    {
        LogAppTokenRequesting(log, account.Name);
        TokenEndpointResult result;
        try
        {
            result = await client.RequestClientCredentialsAsync(account, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // As for a refresh: a last guard, so that the running request always ends and its waiters hear.
            result = new TokenEndpointResult { Error = "the token request failed", ErrorDescription = e.GetType().Name };
        }
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            state.Refreshing = null;
            if (state.Generation != generation)
            {
                return TokenOutcome.Failed("its tokens were forgotten while a new app token was on its way; the next login asks again");
            }
            if (result.IsError)
            {
                var error = ClientText.Sanitize(result.ErrorText, 600);
                var fix = ProviderErrorMapping.TokenRequestFix(account, result.ErrorText);
                LogAppTokenFailed(log, account.Name, account.ProviderDisplayName, error, fix ?? "");
                return TokenOutcome.Failed($"{account.ProviderDisplayName} refused the app-only (client credentials) token request: {error}{(fix is null ? "" : " " + fix)}");
            }
            if (!await SaveRefreshedAsync(account, state, new StoredTokens(result.AccessToken, result.ExpiresAt, null, null, null), expectedVersion, TokenChange.Refreshed))
            {
                return Usable(account, state.Current, TimeSpan.Zero) ?? TokenOutcome.Token(result.AccessToken!);
            }
            LogAppTokenIssued(log, account.Name, result.ExpiresAt);
            return TokenOutcome.Token(result.AccessToken!);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// The one place new tokens are taken: saved first, then published (which also ends a need for a
    /// sign-in). The caller holds <c>Gate</c>. A token that cannot be saved is still used (the
    /// provider keeps the previous refresh token valid, so nothing is lost), but the operator is told loudly.
    /// </summary>
    /// <returns>Whether the tokens were saved: the caller says "saved" only then.</returns>
    private async Task<bool> SaveAndApplyAsync(AccountOptions account, AccountState state, StoredTokens tokens)
    {
        // A template account's client password hash is kept with every later save (refreshes, new sign-ins) until its tokens are forgotten.
        tokens = tokens.PasswordHash is null && state.Current.PasswordHash is { } passwordHash ? tokens with { PasswordHash = passwordHash } : tokens;
        var saved = false;
        try
        {
            await store.SaveAsync(account, tokens, CancellationToken.None);
            saved = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(log, account.Name, store.LocationOf(account.Name), e.Message);
        }
        state.Current = TokenSnapshot.From(tokens);
        return saved;
    }

    /// <summary>One account's tokens in memory; see the locking rules in the class remarks.</summary>
    private sealed class AccountState
    {
        private TokenSnapshot _current = TokenSnapshot.None;

        public AccountState(Func<AccountOptions, AccountState, Task> load, AccountOptions account) =>
            Loaded = new Lazy<Task>(() => Task.Run(() => load(account, this), CancellationToken.None));

        /// <summary>The only lock: held by whoever changes <see cref="Current"/> or <see cref="Refreshing"/>.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The first load from the store, awaited by every caller before anything else.</summary>
        public Lazy<Task> Loaded { get; }

        /// <summary>Read without a lock (an immutable snapshot); replaced only under <see cref="Gate"/>.</summary>
        public TokenSnapshot Current
        {
            get => Volatile.Read(ref _current);
            set => Volatile.Write(ref _current, value);
        }

        /// <summary>The running refresh; set and cleared under <see cref="Gate"/>.</summary>
        public Task<TokenOutcome>? Refreshing { get; set; }

        /// <summary>The access token the upstream refused last (<see cref="InvalidateAsync"/>): a shared store may still hold it, and it is not taken from there again.</summary>
        public string? RefusedAccessToken { get; set; }

        /// <summary>Counts forgets and changed settings (under <see cref="Gate"/>): an answer requested before one is not saved after it.</summary>
        public int Generation { get; set; }

        /// <summary>Why the first load failed: the shared store could not be reached (null when it did not). Such a state is not kept.</summary>
        public string? LoadFailure { get; set; }
    }

    [LoggerMessage(EventId = 2120, EventName = "AppTokenRequesting", Level = LogLevel.Debug,
        Message = "Requesting an app-only OAuth2 access token (client credentials) for account {Account}")]
    private static partial void LogAppTokenRequesting(ILogger logger, string account);

    [LoggerMessage(EventId = 2121, EventName = "AppTokenIssued", Level = LogLevel.Information,
        Message = "App-only OAuth2 access token (client credentials) of account {Account} issued; expires {ExpiresAt:O}")]
    private static partial void LogAppTokenIssued(ILogger logger, string account, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2122, EventName = "AppTokenFailed", Level = LogLevel.Warning,
        Message = "The OAuth2 client-credentials request of account {Account} to {Provider} failed: {Error} {Fix}")]
    private static partial void LogAppTokenFailed(ILogger logger, string account, string provider, string error, string fix);

    [LoggerMessage(EventId = 2101, EventName = "TokensLoaded", Level = LogLevel.Debug,
        Message = "Tokens of account {Account} loaded from disk; access token expires {ExpiresAt:O}")]
    private static partial void LogLoaded(ILogger logger, string account, DateTimeOffset? expiresAt);

    [LoggerMessage(EventId = 2102, EventName = "TokenRefreshing", Level = LogLevel.Debug,
        Message = "Refreshing the OAuth2 access token of account {Account}")]
    private static partial void LogRefreshing(ILogger logger, string account);

    [LoggerMessage(EventId = 2103, EventName = "TokenRefreshed", Level = LogLevel.Information,
        Message = "OAuth2 access token of account {Account} refreshed; expires {ExpiresAt:O}; refresh token rotated: {Rotated}")]
    private static partial void LogRefreshed(ILogger logger, string account, DateTimeOffset expiresAt, bool rotated);

    [LoggerMessage(EventId = 2104, EventName = "TokenRefreshRefused", Level = LogLevel.Warning,
        Message = "The refresh token of account {Account} was refused ({Error}); the account needs a new sign-in")]
    private static partial void LogRefreshRefused(ILogger logger, string account, string error);

    [LoggerMessage(EventId = 2105, EventName = "TokenRefreshFailed", Level = LogLevel.Warning,
        Message = "The token refresh of account {Account} failed: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, string account, string error);

    [LoggerMessage(EventId = 2108, EventName = "RotatedRefreshTokenKept", Level = LogLevel.Information,
        Message = "The OAuth2 settings of account {Account} changed while its token was being refreshed: the new access token is dropped, the rotated refresh token is saved")]
    private static partial void LogRotatedKept(ILogger logger, string account);

    [LoggerMessage(EventId = 2107, EventName = "TokenLoadFailed", Level = LogLevel.Error,
        Message = "The tokens of account {Account} could not be loaded ({Reason}); the account needs a new sign-in")]
    private static partial void LogLoadFailed(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2191, EventName = "TokensTakenFromSharedStore", Level = LogLevel.Information,
        Message = "The tokens of account {Account} were changed by another replica (a sign-in there); this one uses them now")]
    private static partial void LogAdoptedFromStore(ILogger logger, string account);

    [LoggerMessage(EventId = 2192, EventName = "SharedStoreRereadFailed", Level = LogLevel.Warning,
        Message = "The tokens of account {Account} could not be read again from the shared store: {Reason}")]
    private static partial void LogRereadFailed(ILogger logger, string account, string reason);


    [LoggerMessage(EventId = 2190, EventName = "TokensForgotten", Level = LogLevel.Information,
        Message = "The tokens of account {Account} were forgotten (emailproxy tokens clear); its next login needs a sign-in")]
    private static partial void LogForgotten(ILogger logger, string account);

    [LoggerMessage(EventId = 2106, EventName = "TokenSaveFailed", Level = LogLevel.Error,
        Message = "The tokens of account {Account} could not be saved to {Path}: {Reason}. They are used from memory; fix the folder's permissions or the account will need a new sign-in after a restart")]
    private static partial void LogSaveFailed(ILogger logger, string account, string path, string reason);
}
