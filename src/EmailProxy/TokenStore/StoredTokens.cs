namespace EmailProxy.TokenStore;

/// <summary>What is kept for an account between runs. <see cref="ToString"/> never shows a token.</summary>
internal sealed record StoredTokens(
    string? AccessToken,
    DateTimeOffset? AccessTokenExpiresAt,
    string? RefreshToken,
    DateTimeOffset? RefreshTokenRotatedAt,
    string? Identity = null,
    string? PasswordHash = null)
{
    public override string ToString() =>
        $"StoredTokens {{ AccessToken = {(AccessToken is null ? "none" : "set")}, ExpiresAt = {AccessTokenExpiresAt:O}, RefreshToken = {(RefreshToken is null ? "none" : "set")}, Identity = {Identity}, PasswordHash = {(PasswordHash is null ? "none" : "set")} }}";
}
