namespace EmailProxy.Graph;

/// <summary>
/// A Graph access token for one account, or why there is none: <see cref="Failure"/> says it with
/// the fix in words; <see cref="Temporary"/> when trying again later may work (no answer, a 5xx).
/// <see cref="ToString"/> never shows the token.
/// </summary>
internal sealed record GraphToken(string? AccessToken, DateTimeOffset ExpiresAt, string? Failure, bool Temporary)
{
    public static GraphToken Failed(string failure, bool temporary) => new(null, DateTimeOffset.MinValue, failure, temporary);

    public override string ToString() => AccessToken is null ? $"GraphToken {{ Failure = {Failure} }}" : $"GraphToken {{ ExpiresAt = {ExpiresAt:O} }}";
}
