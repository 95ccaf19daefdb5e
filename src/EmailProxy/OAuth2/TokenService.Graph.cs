using EmailProxy.Configuration;
using EmailProxy.TokenStore;

namespace EmailProxy.OAuth2;

/// <summary>The second audience of an account that sends through Microsoft Graph (smtp_via graph/auto).</summary>
internal sealed partial class TokenService
{
    /// <summary>The error of <see cref="RedeemForScopeAsync"/> when the account has no refresh token to redeem (it needs a sign-in).</summary>
    public const string SignInNeededError = "sign_in_needed";

    /// <summary>
    /// Redeems the account's refresh token a second time, for <paramref name="scope"/> (one token serves
    /// one resource), or asks for an app-only token for it with client credentials. A rotated refresh
    /// token that comes back is saved like any other (when the one used is still the current one).
    /// The access token is the caller's to keep: it is never saved, never logged.
    /// </summary>
    public async Task<TokenEndpointResult> RedeemForScopeAsync(AccountOptions account, string scope, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return await client.RequestClientCredentialsAsync(account, cancellationToken, scope);
        }
        var current = state.Current;
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
                if (now.RefreshToken == refreshToken)
                {
                    await SaveAndApplyAsync(account, state, new StoredTokens(now.AccessToken, now.AccessToken is null ? null : now.ExpiresAt, next, time.GetUtcNow(), now.Identity));
                }
            }
            finally
            {
                state.Gate.Release();
            }
        }
        return result;
    }

    /// <summary>
    /// Raised with the account's name when its tokens were forgotten (<see cref="ForgetAsync"/>) or its access
    /// token was, after its OAuth settings changed (<see cref="ForgetAccessTokenAsync"/>): what was redeemed from
    /// them (the Graph token) must not be handed out any more. Raised under the account's gate: handlers are quick.
    /// </summary>
    public event Action<string>? TokensForgotten;

    private void OnTokensForgotten(AccountOptions account) => TokensForgotten?.Invoke(account.Name);

    /// <summary>Who signed in for the account, as its token file says (null when unknown or not loaded).</summary>
    public string? SignedInIdentityOf(AccountOptions account) =>
        _states.TryGetValue(account.Name, out var state) ? state.Current.Identity : null;
}
