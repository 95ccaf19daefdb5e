using System.Buffers.Text;
using System.Text.Json;

namespace EmailProxy.OAuth2;

/// <summary>
/// Reads the payload (the claims) of a JWT in compact form, <c>header.payload.signature</c>,
/// WITHOUT verifying anything: callers use it only for tokens that came straight from the token
/// endpoint over TLS (the identity check) or to describe a stored token to its operator
/// (<c>emailproxy tokens</c>). Whatever the text is (opaque, encrypted with five parts, not
/// base64url, not JSON, not an object, too deep, too long) the answer is "no payload", never an
/// exception: the text comes from a provider, and a token that cannot be read is simply not a JWT.
/// </summary>
internal static class JwtPayload
{
    /// <summary>
    /// The longest token read. Microsoft's access tokens carrying many group claims reach a few
    /// KiB; Entra replaces the groups with an overage claim long before 32 KiB.
    /// </summary>
    public const int MaxTokenLength = 32 * 1024;

    /// <summary>How deep the payload's JSON may nest: claims are flat, with a few small objects and arrays.</summary>
    public const int MaxDepth = 16;

    /// <summary>The longest string claim <see cref="StringClaim"/> returns: longer is not a name, address or id.</summary>
    public const int MaxClaimLength = 1024;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    /// <summary>The payload's JSON object (a copy that needs no disposing), or false when <paramref name="token"/> is not a readable JWT.</summary>
    public static bool TryRead(string? token, out JsonElement payload)
    {
        payload = default;
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return false;
        }
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (second < 0 || token.IndexOf('.', second + 1) >= 0)
        {
            // Not three parts: opaque (Google's), or a JWE (five parts) that only its audience can read.
            return false;
        }
        var encoded = token.AsSpan(first + 1, second - first - 1);
        if (encoded.IsEmpty || !Base64Url.IsValid(encoded))
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(Base64Url.DecodeFromChars(encoded), Options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
            payload = document.RootElement.Clone();
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            // Not JSON, not UTF-8, or nested deeper than MaxDepth.
            return false;
        }
    }

    /// <summary>A string claim of <paramref name="payload"/>: null when absent, not a string, empty or longer than <see cref="MaxClaimLength"/>.</summary>
    public static string? StringClaim(JsonElement payload, string name) =>
        payload.ValueKind == JsonValueKind.Object
        && payload.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String
        && value.GetString() is { Length: > 0 and <= MaxClaimLength } text
            ? text
            : null;
}
