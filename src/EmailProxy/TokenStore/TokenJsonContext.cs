using System.Text.Json.Serialization;

namespace EmailProxy.TokenStore;

/// <summary>The JSON of the files the token store keeps: token files and the passphrase's key derivation.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenFile))]
[JsonSerializable(typeof(TokenSecrets))]
[JsonSerializable(typeof(PassphraseKdf))]
internal sealed partial class TokenJsonContext : JsonSerializerContext;
