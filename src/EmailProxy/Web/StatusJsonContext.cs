using System.Text.Json.Serialization;

namespace EmailProxy.Web;

/// <summary>The JSON of <c>/status.json</c> (<see cref="StatusModel"/>): snake_case names, nulls left out, as the control endpoints' JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusModel))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
