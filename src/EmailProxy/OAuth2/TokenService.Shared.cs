using EmailProxy.Configuration;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// The refresh on a shared store (<c>token_store = redis</c>): everything that uses an account's refresh token, or asks for
/// its app-only token, runs under the account's refresh lock in Redis with the record read under it, and saves with a
/// compare-and-set on the version it read. Tokens a refresh could not save because Redis was away are kept aside
/// (<see cref="_unsaved"/>) and written as soon as Redis answers, unless another writer changed the record since.
/// </summary>
internal sealed partial class TokenService
{
    /// <param name="refreshToken">The refresh token to use; null for an app-only account (a client-credentials request).</param>
    /// <param name="generation">The account's <see cref="AccountState.Generation"/> when the refresh started: its settings
    /// changed since then (a reload) drops the answer, which was asked for with the old ones.</param>
    private async Task<TokenOutcome> RefreshAsync(AccountOptions account, AccountState state, string? refreshToken, int generation)
    {
        if (store is not RedisTokenStore shared)
        {
            return refreshToken is null
                ? await RequestAppTokenAsync(account, state, generation, expectedVersion: null)
                : await RefreshUnlockedAsync(account, state, refreshToken, generation, expectedVersion: null);
        }
        try
        {
            return await RefreshSharedAsync(account, state, refreshToken, generation, shared);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A last guard, as for the token request: the account's running refresh always ends, so that a Redis that
            // failed in a way not foreseen does not leave a faulted refresh every later login of the account joins.
            var failure = e.GetType().Name;
            LogSharedRefreshFailed(log, account.Name, failure);
            return await EndRefreshAsync(state, TokenOutcome.Failed($"its token needs a refresh and the token store failed ({failure}); try again"));
        }
    }

    private async Task<TokenOutcome> RefreshSharedAsync(AccountOptions account, AccountState state, string? refreshToken, int generation, RedisTokenStore shared)
    {
        // Replicas share the tokens: one refreshes at a time, under the account's lock in Redis; the others wait for the
        // lock, then find the tokens it saved. A replica that died holding it blocks the account for its lease at most.
        var (locked, failure) = await LockAndReadAsync(account, shared);
        if (locked is null)
        {
            return await EndRefreshAsync(state, TokenOutcome.Failed($"its token needs a refresh and {failure}"));
        }
        try
        {
            var stored = locked.Stored;
            // Another replica refreshed while this one waited: its access token is taken, not asked for again.
            var newerToken = stored is { AccessToken: { } storedToken } && storedToken != state.Current.AccessToken && storedToken != state.RefusedAccessToken
                && stored.AccessTokenExpiresAt - time.GetUtcNow() > RefreshMargin;
            if (refreshToken is null)
            {
                // App-only: no refresh token to guard, but one request for all the replicas rather than a herd.
                return newerToken
                    ? await AdoptFromLockedStoreAsync(account, state, refreshToken, stored)
                    : await RequestAppTokenAsync(account, state, generation, locked.Version);
            }
            if (stored?.RefreshToken is not { } newest || stored.SignInReason is not null || newerToken)
            {
                // Another replica refreshed (or signed in, or cleared the tokens, or was refused) while this one waited: its
                // tokens are taken, not refreshed again.
                return await AdoptFromLockedStoreAsync(account, state, refreshToken, stored);
            }
            if (newest != refreshToken && !await TakeRotatedAsync(state, refreshToken, stored))
            {
                return await AdoptFromLockedStoreAsync(account, state, refreshToken, stored);
            }
            return await RefreshUnlockedAsync(account, state, newest, generation, locked.Version);
        }
        finally
        {
            await ReleaseAsync(locked.Held, account);
        }
    }

    /// <summary>
    /// Takes the account's refresh lock among the replicas and reads its record under it, tokens this replica could not save
    /// written (or dropped) first, so that what is read is what the holder of the lock may use.
    /// </summary>
    /// <returns>The lock and the record, or null and why not (Redis away, or another replica held the lock too long).</returns>
    private async Task<(LockedRecord? Locked, string Failure)> LockAndReadAsync(AccountOptions account, RedisTokenStore shared)
    {
        IAsyncDisposable? held;
        try
        {
            held = await shared.TryLockRefreshAsync(account.Name, shared.RefreshLease + OAuthClient.RequestTimeout, CancellationToken.None);
        }
        catch (TokenStoreUnavailableException e)
        {
            return (null, e.Message);
        }
        if (held is null)
        {
            LogRefreshLockTimedOut(log, account.Name);
            return (null, "another replica has been refreshing it for too long; try again");
        }
        try
        {
            // Taken before the read: a settling elsewhere (a login's, the reconnection's) that ends after it shows in it.
            _unsaved.TryGetValue(account.Name, out var pending);
            var (stored, version) = await shared.LoadVersionedAsync(account, CancellationToken.None);
            (stored, version, _) = await SettleUnsavedAsync(account, shared, pending, stored, version);
            return (new LockedRecord(held, stored, version), "");
        }
        catch (TokenStoreUnavailableException e)
        {
            await ReleaseAsync(held, account);
            return (null, e.Message);
        }
    }

    /// <summary>
    /// The account's record as it is to be used, given what was just read (<paramref name="stored"/> at <paramref name="version"/>):
    /// tokens this replica could not save (<paramref name="pending"/>, taken from <see cref="_unsaved"/> BEFORE that read) are
    /// written if the record is still the version they were meant to replace (a sign-in's: whatever it holds), and win; if
    /// another writer changed it since (a sign-in, <c>tokens clear</c>), its record wins and they are dropped. Of several
    /// settlings of the same tokens at once, only the one that takes them out of <see cref="_unsaved"/> may drop them.
    /// </summary>
    /// <returns>The record to use, and whether this call dropped the unsaved tokens (the caller's memory still holds them).</returns>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached (they are kept for the next time).</exception>
    private async Task<(StoredTokens? Stored, long Version, bool Dropped)> SettleUnsavedAsync(
        AccountOptions account, RedisTokenStore shared, UnsavedTokens? pending, StoredTokens? stored, long version)
    {
        if (pending is null)
        {
            return (stored, version, false);
        }
        var entry = new KeyValuePair<string, UnsavedTokens>(account.Name, pending);
        if ((pending.Version is null || version == pending.Version) && !Holds(stored, pending))
        {
            // A sign-in's over whatever is there keeps the template password hash stored when it made none (made while unreadable).
            var tokens = pending.Tokens.PasswordHash is null && stored?.PasswordHash is { } storedHash ? pending.Tokens with { PasswordHash = storedHash } : pending.Tokens;
            if (await shared.SaveIfVersionAsync(account, tokens, pending.Version, pending.Change, CancellationToken.None) is { } written)
            {
                _unsaved.TryRemove(entry);
                LogUnsavedWritten(log, account.Name);
                return (tokens, written, false);
            }
            // Changed between the read and the write: read what won.
            (stored, version) = await shared.LoadVersionedAsync(account, CancellationToken.None);
        }
        if (!_unsaved.TryRemove(entry) || Holds(stored, pending))
        {
            // Settled elsewhere meanwhile (it decided), or written already: the write that seemed to fail reached Redis after
            // all (it answered too late), or another settling of them came first. The read (after it) shows the outcome.
            return (stored, version, false);
        }
        LogUnsavedDropped(log, account.Name);
        return (stored, version, true);
    }

    private static bool Holds(StoredTokens? stored, UnsavedTokens unsaved) =>
        stored is not null && stored.RefreshToken == unsaved.Tokens.RefreshToken && stored.AccessToken == unsaved.Tokens.AccessToken
        && stored.SignInReason == unsaved.Tokens.SignInReason;

    /// <summary>
    /// Writes tokens this replica could not save as soon as Redis answers again (a login, the background refresh), not only at
    /// the next refresh: until then another replica that refreshes would use the store's older refresh token. Nothing when
    /// there are none or Redis is still away.
    /// </summary>
    private async Task WriteUnsavedAsync(AccountOptions account, AccountState state, CancellationToken cancellationToken)
    {
        if (_unsaved.TryGetValue(account.Name, out var unsaved) && store is RedisTokenStore { IsConnected: true } shared)
        {
            await WriteUnsavedAsync(account, state, unsaved, shared, cancellationToken);
        }
    }

    /// <summary>Writes (or drops) <paramref name="unsaved"/>; when dropped, the store's tokens are taken into <paramref name="state"/>.</summary>
    private async Task WriteUnsavedAsync(AccountOptions account, AccountState state, UnsavedTokens unsaved, RedisTokenStore shared, CancellationToken cancellationToken)
    {
        StoredTokens? settled;
        bool dropped;
        try
        {
            var (stored, version) = await shared.LoadVersionedAsync(account, cancellationToken);
            (settled, _, dropped) = await SettleUnsavedAsync(account, shared, unsaved, stored, version);
        }
        catch (TokenStoreUnavailableException)
        {
            return;
        }
        if (!dropped)
        {
            // Written (memory holds them already), or settled by another path, which decided.
            return;
        }
        // Dropped: the store's tokens are this replica's from now on, unless it changed them here meanwhile.
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            if (state.Current.RefreshToken == unsaved.Tokens.RefreshToken && state.Current.AccessToken == unsaved.Tokens.AccessToken)
            {
                state.Current = settled is null ? TokenSnapshot.None : TokenSnapshot.From(settled);
            }
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Lets go of the refresh lock. A release Redis fails (gone meanwhile) is only logged: the refresh is done, and the
    /// lease runs out by itself.
    /// </summary>
    private async Task ReleaseAsync(IAsyncDisposable held, AccountOptions account)
    {
        try
        {
            await held.DisposeAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever it is (Redis gone, or the lock library's own failure), the refresh's result stands: a failure here must
            // not reach the refresh's last guard, which would end a newer refresh's task as well.
            var failure = e.GetType().Name;
            LogRefreshLockNotReleased(log, account.Name, failure);
        }
    }

    /// <summary>Ends the running refresh with <paramref name="outcome"/>, nothing changed.</summary>
    private static async Task<TokenOutcome> EndRefreshAsync(AccountState state, TokenOutcome outcome)
    {
        await state.Gate.WaitAsync(CancellationToken.None);
        state.Refreshing = null;
        state.Gate.Release();
        return outcome;
    }

    /// <summary>Ends the running refresh with the tokens another replica saved (none: they were cleared there).</summary>
    private async Task<TokenOutcome> AdoptFromLockedStoreAsync(AccountOptions account, AccountState state, string? refreshToken, StoredTokens? stored)
    {
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            state.Refreshing = null;
            if (state.Current.RefreshToken == refreshToken)
            {
                state.Current = stored is null ? TokenSnapshot.None : TokenSnapshot.From(stored);
                LogAdoptedFromStore(log, account.Name);
            }
            return Usable(account, state.Current, TimeSpan.Zero)
                ?? TokenOutcome.Failed("another replica changed its tokens while this one waited to refresh them; log in again");
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Another replica rotated the refresh token without leaving an access token still good (a Graph redemption, a refresh
    /// whose token has run out since): its tokens are taken, to be refreshed under the lock this replica holds, rather than the
    /// rotated-away one used. Not when the account's tokens changed here meanwhile (a sign-in).
    /// </summary>
    /// <returns>Whether they were taken.</returns>
    private static async Task<bool> TakeRotatedAsync(AccountState state, string refreshToken, StoredTokens stored)
    {
        await state.Gate.WaitAsync(CancellationToken.None);
        try
        {
            if (state.Current.RefreshToken != refreshToken)
            {
                return false;
            }
            state.Current = TokenSnapshot.From(stored);
            return true;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Saves a refresh's tokens and takes them: with a compare-and-set on <paramref name="expectedVersion"/> on a shared store
    /// (<see cref="SaveIfUnchangedAndApplyAsync"/>), else as any save. The caller holds <c>Gate</c>.
    /// </summary>
    /// <returns>Whether these tokens were taken (false: another replica's newer ones were, instead).</returns>
    private async Task<bool> SaveRefreshedAsync(AccountOptions account, AccountState state, StoredTokens tokens, long? expectedVersion, TokenChange change)
    {
        if (expectedVersion is { } version)
        {
            return await SaveIfUnchangedAndApplyAsync(account, state, tokens, version, change);
        }
        await SaveAndApplyAsync(account, state, tokens);
        return true;
    }

    /// <summary>
    /// <see cref="SaveAndApplyAsync"/> for a refresh on a shared store: saved only if the record is still the version the
    /// refresh started from (a compare-and-set), then published; when another replica wrote since, its tokens are read and
    /// taken instead, and these dropped. A store that cannot be reached keeps them in memory and aside (logged), to be written
    /// on that version as soon as it answers again (<see cref="SettleUnsavedAsync"/>). The caller holds <c>Gate</c>.
    /// </summary>
    /// <returns>Whether these tokens were taken (saved, or kept in memory for a store that cannot be reached).</returns>
    private async Task<bool> SaveIfUnchangedAndApplyAsync(AccountOptions account, AccountState state, StoredTokens tokens, long expectedVersion, TokenChange change)
    {
        var shared = (RedisTokenStore)store;
        tokens = tokens.PasswordHash is null && state.Current.PasswordHash is { } passwordHash ? tokens with { PasswordHash = passwordHash } : tokens;
        try
        {
            if (await shared.SaveIfVersionAsync(account, tokens, expectedVersion, change, CancellationToken.None) is null)
            {
                var (newer, _) = await shared.LoadVersionedAsync(account, CancellationToken.None);
                state.Current = newer is null ? TokenSnapshot.None : TokenSnapshot.From(newer);
                return false;
            }
        }
        catch (TokenStoreUnavailableException e)
        {
            LogSaveFailed(log, account.Name, store.LocationOf(account.Name), e.Message);
            KeepAside(account, shared, tokens, expectedVersion, change);
        }
        state.Current = TokenSnapshot.From(tokens);
        return true;
    }

    /// <summary>
    /// Keeps tokens a shared store could not take, to be written as soon as it answers (<see cref="SettleUnsavedAsync"/>):
    /// a refresh's on the version it read (<paramref name="expectedVersion"/>), a sign-in's (null) on whatever the record holds.
    /// </summary>
    private void KeepAside(AccountOptions account, RedisTokenStore shared, StoredTokens tokens, long? expectedVersion, TokenChange change)
    {
        _unsaved[account.Name] = new UnsavedTokens(account, tokens, expectedVersion, change);
        if (Interlocked.Exchange(ref _watchingReconnects, 1) == 0)
        {
            shared.Reconnected += OnStoreReconnected;
        }
    }

    /// <summary>An account's refresh lock held, with its record as read under it.</summary>
    private sealed record LockedRecord(IAsyncDisposable Held, StoredTokens? Stored, long Version);

    /// <summary>
    /// Tokens a shared store could not keep, the version of the record they replace (null for a sign-in's: they replace whatever
    /// it holds), and what they are to tell the others.
    /// </summary>
    private sealed record UnsavedTokens(AccountOptions Account, StoredTokens Tokens, long? Version, TokenChange Change);

    /// <summary>Whether <see cref="OnStoreReconnected"/> is subscribed (once, at the first tokens kept aside).</summary>
    private int _watchingReconnects;

    /// <summary>Redis is back: every account's unsaved tokens are written (or dropped) at once, before another replica refreshes with an older one.</summary>
    private void OnStoreReconnected() => _ = Task.Run(WriteAllUnsavedAsync, CancellationToken.None);

    private async Task WriteAllUnsavedAsync()
    {
        foreach (var unsaved in _unsaved.Values)
        {
            var account = unsaved.Account;
            try
            {
                if (store is not RedisTokenStore shared)
                {
                    return;
                }
                if (_states.TryGetValue(account.Name, out var state) && state.Loaded.IsValueCreated && state.Loaded.Value.IsCompletedSuccessfully)
                {
                    await WriteUnsavedAsync(account, state, unsaved, shared, CancellationToken.None);
                }
                else
                {
                    // Not in memory (a notice dropped it): its next load takes whatever is settled here.
                    var (stored, version) = await shared.LoadVersionedAsync(account, CancellationToken.None);
                    await SettleUnsavedAsync(account, shared, unsaved, stored, version);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Kept (or not) as it was: the next login, background refresh or refresh under the lock tries again.
                var failure = e.GetType().Name;
                LogUnsavedWriteFailed(log, account.Name, failure);
            }
        }
    }

    [LoggerMessage(EventId = 2196, EventName = "UnsavedTokensWritten", Level = LogLevel.Information,
        Message = "The tokens of account {Account} that could not be saved while Redis was away are saved now")]
    private static partial void LogUnsavedWritten(ILogger logger, string account);

    [LoggerMessage(EventId = 2197, EventName = "UnsavedTokensDropped", Level = LogLevel.Warning,
        Message = "The tokens of account {Account} that could not be saved while Redis was away are dropped: its tokens were changed meanwhile (a sign-in or tokens clear), and those are kept")]
    private static partial void LogUnsavedDropped(ILogger logger, string account);

    [LoggerMessage(EventId = 2199, EventName = "UnsavedTokensWriteFailed", Level = LogLevel.Warning,
        Message = "The tokens of account {Account} that could not be saved while Redis was away could not be written now that it is back ({Failure}); the next login tries again")]
    private static partial void LogUnsavedWriteFailed(ILogger logger, string account, string failure);

    [LoggerMessage(EventId = 2198, EventName = "TokenLoadUnavailable", Level = LogLevel.Warning,
        Message = "The tokens of account {Account} could not be read: {Reason}; they are read again at its next use")]
    private static partial void LogLoadUnavailable(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2193, EventName = "RefreshLockTimedOut", Level = LogLevel.Warning,
        Message = "The token of account {Account} was not refreshed: another replica held its refresh lock in Redis past its lease and the token request's time")]
    private static partial void LogRefreshLockTimedOut(ILogger logger, string account);

    [LoggerMessage(EventId = 2194, EventName = "SharedRefreshFailed", Level = LogLevel.Warning,
        Message = "The refresh of account {Account} ended on an unexpected failure of the shared token store ({Failure}); the next login tries again")]
    private static partial void LogSharedRefreshFailed(ILogger logger, string account, string failure);

    [LoggerMessage(EventId = 2195, EventName = "RefreshLockNotReleased", Level = LogLevel.Information,
        Message = "The refresh lock of account {Account} could not be let go in Redis ({Failure}); its lease runs out by itself")]
    private static partial void LogRefreshLockNotReleased(ILogger logger, string account, string failure);
}
