using System.Text.Json.Serialization;

namespace EmailProxy.Cli;

/// <summary>
/// What an access token that is a JWT says about itself, read from its payload WITHOUT checking its
/// signature (the proxy never relies on it; it only helps the operator see whom and what the token is
/// for). Only these claims are kept: none of them is a secret.
/// </summary>
internal sealed record TokenClaims
{
    /// <summary>Always false: the signature is not checked.</summary>
    [JsonPropertyName("verified")] public bool Verified { get; init; }
    [JsonPropertyName("audience")] public IReadOnlyList<string>? Audience { get; init; }
    [JsonPropertyName("tenant")] public string? Tenant { get; init; }
    [JsonPropertyName("user")] public string? User { get; init; }
    [JsonPropertyName("scopes")] public IReadOnlyList<string>? Scopes { get; init; }
    [JsonPropertyName("roles")] public IReadOnlyList<string>? Roles { get; init; }
}
