using System.Collections.Concurrent;
using EmailProxy.Configuration;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// Keeps each account's tokens fresh. An access token is handed out while more than
/// <see cref="RefreshMargin"/> of its life is left; past that it is refreshed, once per account
/// however many logins wait on it. A rotated refresh token is saved before the new access token is
/// handed out. <c>invalid_grant</c> marks the account as needing a sign-in until one succeeds.
/// </summary>
/// <remarks>
/// Locking, per account (<see cref="AccountState"/>):
/// <list type="number">
/// <item><c>Fields</c> (a <see cref="Lock"/>) guards the in-memory fields. It is held only to read or
/// assign them — never across an await, never around I/O.</item>
/// <item><c>Writer</c> (a <see cref="SemaphoreSlim"/> of one) is held by whoever changes the tokens:
/// a completed sign-in, the end of a refresh (new tokens, or <c>invalid_grant</c>). New tokens are
/// saved and then applied by <see cref="SaveAndApplyAsync"/> only, under <c>Writer</c>, so that the
/// file and memory agree on the newest tokens and a token is never used before it is saved.</item>
/// <item>Order: <c>Writer</c>, then <c>Fields</c> inside it; never <c>Writer</c> while holding <c>Fields</c>.</item>
/// <item>The token endpoint is called outside <c>Writer</c> (a sign-in may complete meanwhile); under
/// <c>Writer</c> a refresh first checks that the refresh token it used is still the current one, else
/// the newer tokens win and its answer is dropped.</item>
/// <item>Single flight: the running refresh (<c>Refreshing</c>) and the first load (<c>Loading</c>) are
/// tasks set under <c>Fields</c> and awaited by everyone who needs them.</item>
/// </list>
/// </remarks>
internal sealed partial class TokenService(OAuthClient client, TokenFileStore store, TimeProvider time, ILogger<TokenService> log)
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, AccountState> _states = new(StringComparer.OrdinalIgnoreCase);

    public async Task<TokenOutcome> GetAccessTokenAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        Task<TokenOutcome> refresh;
        lock (state.Fields)
        {
            if (state.AccessToken is { } token && state.ExpiresAt - time.GetUtcNow() > RefreshMargin)
            {
                return TokenOutcome.Token(token);
            }
            if (state.SignInReason is { } reason)
            {
                return TokenOutcome.SignIn(reason);
            }
            if (state.RefreshToken is null)
            {
                return TokenOutcome.SignIn("it has no token yet");
            }
            refresh = state.Refreshing ??= Task.Run(() => RefreshAsync(account, state), CancellationToken.None);
        }
        var outcome = await refresh.WaitAsync(cancellationToken);
        if (outcome.Kind == TokenOutcomeKind.Failed)
        {
            lock (state.Fields)
            {
                // A refresh that failed for a passing reason leaves a token that is still valid usable.
                if (state.AccessToken is { } stillValid && state.ExpiresAt > time.GetUtcNow())
                {
                    return TokenOutcome.Token(stillValid);
                }
            }
        }
        return outcome;
    }

    /// <summary>
    /// The background refresh: refreshes a signed-in account whose access token has less than
    /// <see cref="RefreshMargin"/> + <paramref name="lookAhead"/> left, so that the next login finds
    /// a fresh one (sharing a refresh a login may have started). Nothing for an account without a
    /// refresh token or that needs a sign-in.
    /// </summary>
    public async Task RefreshIfDueAsync(AccountOptions account, TimeSpan lookAhead, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        Task<TokenOutcome> refresh;
        lock (state.Fields)
        {
            if (state.RefreshToken is null || state.SignInReason is not null
                || (state.AccessToken is not null && state.ExpiresAt - time.GetUtcNow() > RefreshMargin + lookAhead))
            {
                return;
            }
            refresh = state.Refreshing ??= Task.Run(() => RefreshAsync(account, state), CancellationToken.None);
        }
        await refresh.WaitAsync(cancellationToken);
    }

    /// <summary>The upstream refused this token: forget it so that the next call refreshes.</summary>
    public void Invalidate(AccountOptions account, string accessToken)
    {
        if (_states.TryGetValue(account.Name, out var state))
        {
            lock (state.Fields)
            {
                if (state.AccessToken == accessToken)
                {
                    state.AccessToken = null;
                }
            }
        }
    }

    /// <summary>Takes the tokens of a completed sign-in: saved first, then used.</summary>
    public async Task AcceptSignInAsync(AccountOptions account, TokenEndpointResult result, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        var tokens = new StoredTokens(result.AccessToken, result.ExpiresAt, result.RefreshToken, result.RefreshToken is null ? null : time.GetUtcNow());
        await state.Writer.WaitAsync(CancellationToken.None);
        try
        {
            await SaveAndApplyAsync(account, state, tokens);
        }
        finally
        {
            state.Writer.Release();
        }
    }

    /// <summary>For the status page: whether the account has a usable token, and until when.</summary>
    public async Task<(bool SignedIn, DateTimeOffset? ExpiresAt, string? Problem)> DescribeAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        lock (state.Fields)
        {
            var signedIn = state.SignInReason is null && (state.RefreshToken is not null || state.AccessToken is not null);
            return (signedIn, state.AccessToken is null ? null : state.ExpiresAt, state.SignInReason);
        }
    }

    private async Task<AccountState> GetStateAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = _states.GetOrAdd(account.Name, static _ => new AccountState());
        Task load;
        lock (state.Fields)
        {
            load = state.Loading ??= Task.Run(() => LoadAsync(account, state), CancellationToken.None);
        }
        await load.WaitAsync(cancellationToken);
        return state;
    }

    private async Task LoadAsync(AccountOptions account, AccountState state)
    {
        // The store logs and absorbs a damaged file; whatever else goes wrong, the account is
        // "sign-in needed", never broken for good.
        StoredTokens? stored;
        try
        {
            stored = await store.LoadAsync(account, CancellationToken.None);
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
        lock (state.Fields)
        {
            state.AccessToken = stored.AccessToken;
            state.ExpiresAt = stored.AccessTokenExpiresAt ?? DateTimeOffset.MinValue;
            state.RefreshToken = stored.RefreshToken;
            state.RotatedAt = stored.RefreshTokenRotatedAt;
        }
        LogLoaded(log, account.Name, stored.AccessTokenExpiresAt);
    }

    private async Task<TokenOutcome> RefreshAsync(AccountOptions account, AccountState state)
    {
        try
        {
            string refreshToken;
            lock (state.Fields)
            {
                refreshToken = state.RefreshToken!;
            }
            LogRefreshing(log, account.Name);
            var result = await client.RefreshAsync(account, refreshToken, CancellationToken.None);
            await state.Writer.WaitAsync(CancellationToken.None);
            try
            {
                // A sign-in that completed while this refresh was on its way wins: its tokens are newer.
                lock (state.Fields)
                {
                    if (state.RefreshToken != refreshToken)
                    {
                        return state.AccessToken is { } newer ? TokenOutcome.Token(newer) : TokenOutcome.SignIn("a newer sign-in replaced the tokens");
                    }
                }
                if (result.IsError)
                {
                    if (result.IsInvalidGrant)
                    {
                        var reason = $"{account.ProviderDisplayName} refused its refresh token ({result.ErrorText})";
                        lock (state.Fields)
                        {
                            state.SignInReason = reason;
                            state.AccessToken = null;
                        }
                        LogRefreshRefused(log, account.Name, result.ErrorText);
                        return TokenOutcome.SignIn(reason);
                    }
                    LogRefreshFailed(log, account.Name, result.ErrorText);
                    return TokenOutcome.Failed($"the token refresh with {account.ProviderDisplayName} failed: {result.ErrorText}");
                }

                var rotated = result.RefreshToken is not null && result.RefreshToken != refreshToken;
                DateTimeOffset? rotatedAt;
                lock (state.Fields)
                {
                    rotatedAt = rotated ? time.GetUtcNow() : state.RotatedAt;
                }
                await SaveAndApplyAsync(account, state, new StoredTokens(result.AccessToken, result.ExpiresAt, result.RefreshToken ?? refreshToken, rotatedAt));
                LogRefreshed(log, account.Name, result.ExpiresAt, rotated);
                return TokenOutcome.Token(result.AccessToken!);
            }
            finally
            {
                state.Writer.Release();
            }
        }
        finally
        {
            lock (state.Fields)
            {
                state.Refreshing = null;
            }
        }
    }

    /// <summary>
    /// The one place new tokens are taken: saved first, then applied to memory (which also ends a
    /// need for a sign-in). The caller holds <c>Writer</c>. A token that cannot be saved is still used
    /// (the provider keeps the previous refresh token valid, so nothing is lost), but the operator is
    /// told loudly.
    /// </summary>
    private async Task SaveAndApplyAsync(AccountOptions account, AccountState state, StoredTokens tokens)
    {
        try
        {
            await store.SaveAsync(account, tokens, CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(log, account.Name, store.PathFor(account.Name), e.Message);
        }
        lock (state.Fields)
        {
            state.AccessToken = tokens.AccessToken;
            state.ExpiresAt = tokens.AccessTokenExpiresAt ?? DateTimeOffset.MinValue;
            state.RefreshToken = tokens.RefreshToken;
            state.RotatedAt = tokens.RefreshTokenRotatedAt;
            state.SignInReason = null;
        }
    }

    /// <summary>One account's tokens in memory; see the locking rules in the class remarks.</summary>
    private sealed class AccountState
    {
        /// <summary>Guards the fields below; held only for reads and assignments.</summary>
        public Lock Fields { get; } = new();

        /// <summary>Held by whoever changes the tokens (save, then apply); never taken while holding <see cref="Fields"/>.</summary>
        public SemaphoreSlim Writer { get; } = new(1, 1);
        public Task? Loading { get; set; }
        public Task<TokenOutcome>? Refreshing { get; set; }
        public string? AccessToken { get; set; }
        public DateTimeOffset ExpiresAt { get; set; }
        public string? RefreshToken { get; set; }
        public DateTimeOffset? RotatedAt { get; set; }
        public string? SignInReason { get; set; }
    }

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

    [LoggerMessage(EventId = 2107, EventName = "TokenLoadFailed", Level = LogLevel.Error,
        Message = "The tokens of account {Account} could not be loaded ({Reason}); the account needs a new sign-in")]
    private static partial void LogLoadFailed(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2106, EventName = "TokenSaveFailed", Level = LogLevel.Error,
        Message = "The tokens of account {Account} could not be saved to {Path}: {Reason}. They are used from memory; fix the folder's permissions or the account will need a new sign-in after a restart")]
    private static partial void LogSaveFailed(ILogger logger, string account, string path, string reason);
}
