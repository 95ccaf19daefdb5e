using System.Text.Json.Serialization;

namespace EmailProxy.TokenStore;

/// <summary>The encrypted part of a <see cref="TokenFile"/>.</summary>
internal sealed record TokenSecrets
{
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }

    public override string ToString() => "TokenSecrets { (hidden) }";
}
