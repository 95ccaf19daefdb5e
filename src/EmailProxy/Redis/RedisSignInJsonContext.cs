using System.Text.Json.Serialization;

namespace EmailProxy.Redis;

/// <summary>The JSON of the pending sign-ins Redis keeps (sealed) and of the messages that say one ended.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RedisSignInRecord))]
[JsonSerializable(typeof(RedisSignInMessage))]
internal sealed partial class RedisSignInJsonContext : JsonSerializerContext;
