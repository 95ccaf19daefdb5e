using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace EmailProxy.Tests.OAuth2;

/// <summary>Unsigned JWTs (<c>alg: none</c>) with the claims a test gives, as a provider's token endpoint would return them (the proxy checks no signature).</summary>
internal static class TestJwt
{
    public static string Create(object claims) => Create(JsonSerializer.Serialize(claims));

    /// <summary>A JWT whose payload is exactly <paramref name="payloadJson"/> (which need not be JSON).</summary>
    public static string Create(string payloadJson) => FromPayloadBytes(Encoding.UTF8.GetBytes(payloadJson));

    public static string FromPayloadBytes(byte[] payload) =>
        $"{Base64Url.EncodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}"u8)}.{Base64Url.EncodeToString(payload)}.";
}
