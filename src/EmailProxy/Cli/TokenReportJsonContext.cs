using System.Text.Json.Serialization;

namespace EmailProxy.Cli;

/// <summary>The JSON of <c>emailproxy tokens list/show --json</c>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenStatus))]
[JsonSerializable(typeof(TokenStatusList))]
internal sealed partial class TokenReportJsonContext : JsonSerializerContext;
