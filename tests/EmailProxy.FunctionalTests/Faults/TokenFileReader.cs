using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace EmailProxy.FunctionalTests.Faults;

/// <summary>
/// Opens a token file the way DESIGN.md describes it (JSON metadata beside one AES-256-GCM blob,
/// <c>nonce | tag | ciphertext</c>, bound to the account's lower-cased name), to check from outside
/// the proxy that a file is whole and which refresh token it holds.
/// </summary>
internal static class TokenFileReader
{
    /// <summary>The refresh token in <paramref name="tokenFile"/>, decrypted with the base64 key in <paramref name="secretFile"/>.</summary>
    /// <exception cref="System.Text.Json.JsonException">The file is not whole JSON.</exception>
    /// <exception cref="CryptographicException">The secrets do not decrypt: the file is torn or under another key.</exception>
    public static string? ReadRefreshToken(string tokenFile, string secretFile)
    {
        var file = JsonNode.Parse(File.ReadAllText(tokenFile)) ?? throw new InvalidDataException($"{tokenFile} is empty");
        var account = (string?)file["account"] ?? throw new InvalidDataException($"{tokenFile} names no account");
        var blob = Convert.FromBase64String((string?)file["secrets"] ?? throw new InvalidDataException($"{tokenFile} holds no secrets"));
        var key = Convert.FromBase64String(File.ReadAllText(secretFile).Trim());
        var plaintext = new byte[blob.Length - 28];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Decrypt(blob.AsSpan(0, 12), blob.AsSpan(28), blob.AsSpan(12, 16), plaintext, Encoding.UTF8.GetBytes("emailproxy-tokens-v1:" + account.ToLowerInvariant()));
        }
        return (string?)JsonNode.Parse(plaintext)?["refresh_token"];
    }
}
