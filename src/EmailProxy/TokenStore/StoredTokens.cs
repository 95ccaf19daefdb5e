namespace EmailProxy.TokenStore;

/// <summary>
/// What is kept for an account between runs. <see cref="ToString"/> never shows a token. <see cref="SignInReason"/>: the
/// provider refused its refresh token (kept so on a shared store only, so that every replica knows without asking again);
/// such a record holds no token, only who signed in and a template account's password hash.
/// </summary>
internal sealed record StoredTokens(
    string? AccessToken,
    DateTimeOffset? AccessTokenExpiresAt,
    string? RefreshToken,
    DateTimeOffset? RefreshTokenRotatedAt,
    string? Identity = null,
    string? PasswordHash = null,
    string? SignInReason = null)
{
    public override string ToString() =>
        $"StoredTokens {{ AccessToken = {(AccessToken is null ? "none" : "set")}, ExpiresAt = {AccessTokenExpiresAt:O}, RefreshToken = {(RefreshToken is null ? "none" : "set")}, Identity = {Identity}, PasswordHash = {(PasswordHash is null ? "none" : "set")}, SignInReason = {SignInReason} }}";
}
