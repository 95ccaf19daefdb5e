using EmailProxy.Configuration;
using EmailProxy.Redis;
using EmailProxy.TokenStore;

namespace EmailProxy.OAuth2;

/// <summary>The second audience of an account that sends through Microsoft Graph (smtp_via graph/auto).</summary>
internal sealed partial class TokenService
{
    /// <summary>The error of <see cref="RedeemForScopeAsync"/> when the account has no refresh token to redeem (it needs a sign-in).</summary>
    public const string SignInNeededError = "sign_in_needed";

    /// <summary>The error of <see cref="RedeemForScopeAsync"/> when the shared token store cannot be used now (a passing failure).</summary>
    public const string StoreUnavailableError = "token_store_unavailable";

    /// <summary>
    /// Redeems the account's refresh token a second time, for <paramref name="scope"/> (one token serves
    /// one resource), or asks for an app-only token for it with client credentials. A rotated refresh
    /// token that comes back is saved like any other (when the one used is still the current one).
    /// On a shared store the redemption runs under the account's refresh lock in Redis with the newest refresh token, read
    /// under it, and its rotation is saved with a compare-and-set, as a refresh is: two replicas never send the same one.
    /// The access token is the caller's to keep: it is never saved, never logged.
    /// </summary>
    public async Task<TokenEndpointResult> RedeemForScopeAsync(AccountOptions account, string scope, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        if (state.LoadFailure is { } failure)
        {
            return StoreUnavailable(failure);
        }
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return await client.RequestClientCredentialsAsync(account, cancellationToken, scope);
        }
        if (store is not RedisTokenStore shared)
        {
            return await RedeemAsync(account, state, scope, state.Current, expectedVersion: null, cancellationToken);
        }
        var seen = state.Current;
        var (locked, lockFailure) = await LockAndReadAsync(account, shared);
        if (locked is null)
        {
            return StoreUnavailable(lockFailure);
        }
        try
        {
            // What another replica wrote since this one read (a refresh that rotated the refresh token) is taken first.
            await state.Gate.WaitAsync(CancellationToken.None);
            try
            {
                if (ReferenceEquals(state.Current, seen)
                    && (locked.Stored?.RefreshToken != seen.RefreshToken || locked.Stored?.AccessToken != seen.AccessToken || locked.Stored?.SignInReason != seen.SignInReason))
                {
                    state.Current = locked.Stored is null ? TokenSnapshot.None : TokenSnapshot.From(locked.Stored);
                    LogAdoptedFromStore(log, account.Name);
                }
            }
            finally
            {
                state.Gate.Release();
            }
            // Redeemed with the record's refresh token, read under the lock, whatever memory holds (a lost notice, a refused
            // access token meanwhile): the newest, which no other replica or path is using now.
            var newest = locked.Stored is null ? TokenSnapshot.None : TokenSnapshot.From(locked.Stored);
            return await RedeemAsync(account, state, scope, newest, locked.Version, cancellationToken);
        }
        finally
        {
            await ReleaseAsync(locked.Held, account);
        }
    }

    /// <param name="expectedVersion">A shared store's version read under the refresh lock (null: the store is this process's alone).</param>
    private async Task<TokenEndpointResult> RedeemAsync(AccountOptions account, AccountState state, string scope, TokenSnapshot current, long? expectedVersion, CancellationToken cancellationToken)
    {
        if (current.RefreshToken is not { } refreshToken || current.SignInReason is not null)
        {
            return new TokenEndpointResult { Error = SignInNeededError, ErrorDescription = current.SignInReason ?? "it has no token yet" };
        }
        // offline_access: the answer carries a refresh token (rotated or not), which is saved like any other.
        var result = await client.RefreshAsync(account, refreshToken, cancellationToken, $"{scope} offline_access");
        if (!result.IsError && result.RefreshToken is { } next && next != refreshToken)
        {
            await state.Gate.WaitAsync(CancellationToken.None);
            try
            {
                var now = state.Current;
                if (expectedVersion is not null)
                {
                    // Shared store: the rotation is saved over the record it was redeemed from (the compare-and-set drops it when
                    // a sign-in or clear came since), not decided from memory, which may be older: a spent one is never kept.
                    await SaveRefreshedAsync(account, state,
                        new StoredTokens(current.AccessToken, current.AccessToken is null ? null : current.ExpiresAt, next, time.GetUtcNow(), current.Identity, current.PasswordHash),
                        expectedVersion, TokenChange.Refreshed);
                }
                else if (now.RefreshToken == refreshToken)
                {
                    await SaveRefreshedAsync(account, state, new StoredTokens(now.AccessToken, now.AccessToken is null ? null : now.ExpiresAt, next, time.GetUtcNow(), now.Identity),
                        expectedVersion, TokenChange.Refreshed);
                }
            }
            finally
            {
                state.Gate.Release();
            }
        }
        return result;
    }

    private static TokenEndpointResult StoreUnavailable(string failure) =>
        new() { Error = StoreUnavailableError, ErrorDescription = failure, Transient = true };

    /// <summary>
    /// Raised with the account's name when its tokens were forgotten (<see cref="ForgetAsync"/>), its access token was
    /// after its OAuth settings changed (<see cref="ForgetAccessTokenAsync"/>), or another replica replaced them (a sign-in,
    /// <c>tokens clear</c>, an invalid_grant there: <see cref="ForgetCached"/>): what was redeemed from them (the Graph token)
    /// must not be handed out any more. Raised under the account's gate or from a change notice: handlers are quick.
    /// </summary>
    public event Action<string>? TokensForgotten;

    private void OnTokensForgotten(string accountName) => TokensForgotten?.Invoke(accountName);

    /// <summary>Who signed in for the account, as its token file says (null when unknown or not loaded).</summary>
    public string? SignedInIdentityOf(AccountOptions account) =>
        _states.TryGetValue(account.Name, out var state) ? state.Current.Identity : null;
}
