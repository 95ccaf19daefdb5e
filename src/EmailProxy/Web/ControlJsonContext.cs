using System.Text.Json.Serialization;

namespace EmailProxy.Web;

/// <summary>The JSON of the control endpoints (<see cref="ControlEndpoints"/>), both sides: snake_case names, nulls left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlSignInRequest))]
[JsonSerializable(typeof(ControlSignInStarted))]
[JsonSerializable(typeof(ControlSignInState))]
[JsonSerializable(typeof(ControlPasteRequest))]
[JsonSerializable(typeof(ControlForgetResult))]
[JsonSerializable(typeof(ControlReloadResult))]
[JsonSerializable(typeof(ControlError))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
