using EmailProxy.TokenStore;

namespace EmailProxy.OAuth2;

/// <summary>
/// What the proxy knows of one account's tokens at one moment, immutable: replaced whole by
/// <see cref="TokenService"/> under its account's gate, read by anyone without a lock.
/// <see cref="ToString"/> never shows a token.
/// </summary>
internal sealed record TokenSnapshot(string? AccessToken, DateTimeOffset ExpiresAt, string? RefreshToken, DateTimeOffset? RotatedAt, string? SignInReason, string? Identity = null, string? PasswordHash = null)
{
    /// <summary>No token at all: the account needs a sign-in.</summary>
    public static TokenSnapshot None { get; } = new(null, DateTimeOffset.MinValue, null, null, null);

    /// <summary>
    /// Why nothing is known of the account's tokens now: the shared store could not be read (a passing failure, naming it).
    /// Null when they were read. Such a snapshot says nothing of a sign-in or a password hash: it is no first sign-in.
    /// </summary>
    public string? Unreadable { get; init; }

    /// <summary>Signed in, as the status page and the <c>account.signed_in</c> metric say it: tokens, and no need for a new sign-in.</summary>
    public bool SignedIn => SignInReason is null && (RefreshToken is not null || AccessToken is not null);

    public static TokenSnapshot From(StoredTokens tokens) =>
        new(tokens.AccessToken, tokens.AccessTokenExpiresAt ?? DateTimeOffset.MinValue, tokens.RefreshToken, tokens.RefreshTokenRotatedAt, tokens.SignInReason, tokens.Identity, tokens.PasswordHash);

    public override string ToString() =>
        $"TokenSnapshot {{ AccessToken = {(AccessToken is null ? "none" : "set")}, ExpiresAt = {ExpiresAt:O}, RefreshToken = {(RefreshToken is null ? "none" : "set")}, SignInReason = {SignInReason} }}";
}
