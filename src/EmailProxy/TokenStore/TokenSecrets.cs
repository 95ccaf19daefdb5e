using System.Text.Json.Serialization;

namespace EmailProxy.TokenStore;

/// <summary>The encrypted part of a <see cref="TokenFile"/>.</summary>
internal sealed record TokenSecrets
{
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }

    /// <summary>An account made from a template: the hash (PasswordVerifier's format) of its client password, generated at its first sign-in. Encrypted with the tokens, so it cannot be replaced without the master key.</summary>
    [JsonPropertyName("password_hash")] public string? PasswordHash { get; init; }

    public override string ToString() => "TokenSecrets { (hidden) }";
}
