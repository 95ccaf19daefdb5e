using System.Text.Json.Serialization;

namespace EmailProxy.Cli;

/// <summary>The JSON document of <c>emailproxy tokens list --json</c>.</summary>
internal sealed record TokenStatusList
{
    [JsonPropertyName("accounts")] public required IReadOnlyList<TokenStatus> Accounts { get; init; }
}
