using System.Text.Json;
using System.Text.Json.Serialization;
using EmailProxy.Configuration;

namespace EmailProxy.TokenStore;

/// <summary>
/// The JSON of <c>&lt;token_dir&gt;/&lt;account&gt;.json</c>: readable metadata beside one AES-256-GCM
/// blob (<c>nonce | tag | ciphertext</c>, base64) that holds the secrets.
/// </summary>
internal sealed record TokenFile
{
    public const int CurrentFormat = 1;

    [JsonPropertyName("format")] public int Format { get; init; } = CurrentFormat;
    [JsonPropertyName("account")] public required string Account { get; init; }
    [JsonPropertyName("username")] public required string Username { get; init; }
    [JsonPropertyName("flow")] public required string Flow { get; init; }
    [JsonPropertyName("scope")] public required string Scope { get; init; }
    [JsonPropertyName("access_token_expires")] public DateTimeOffset? AccessTokenExpires { get; init; }
    [JsonPropertyName("refresh_token_rotated")] public DateTimeOffset? RefreshTokenRotated { get; init; }
    /// <summary>Who signed in (id_token <c>preferred_username</c>/<c>email</c>, or the access token's <c>upn</c>); null for app-only tokens and older files.</summary>
    [JsonPropertyName("identity")] public string? Identity { get; init; }
    /// <summary>Why the account needs a sign-in: its refresh token was refused (invalid_grant) and dropped. Readable, no secret; absent otherwise and in older records.</summary>
    [JsonPropertyName("sign_in_needed")] public string? SignInNeeded { get; init; }
    [JsonPropertyName("saved")] public DateTimeOffset Saved { get; init; }
    [JsonPropertyName("secrets")] public required string Secrets { get; init; }

    /// <summary>What every store keeps for an account: its readable metadata and its sealed secrets.</summary>
    public static TokenFile Of(AccountOptions account, StoredTokens tokens, DateTimeOffset saved, TokenCipher cipher) => new()
    {
        Account = account.Name,
        Username = account.Username,
        Flow = account.Flow.ToString(),
        Scope = account.Scope,
        AccessTokenExpires = tokens.AccessTokenExpiresAt,
        RefreshTokenRotated = tokens.RefreshTokenRotatedAt,
        Identity = tokens.Identity,
        SignInNeeded = tokens.SignInReason,
        Saved = saved,
        Secrets = cipher.Seal(account.Name, new TokenSecrets { AccessToken = tokens.AccessToken, RefreshToken = tokens.RefreshToken, PasswordHash = tokens.PasswordHash }),
    };

    /// <summary>
    /// The tokens a stored record (a token file's bytes, a Redis record's text) holds for <paramref name="accountName"/>,
    /// opened with <paramref name="cipher"/>: what every store reads back.
    /// </summary>
    /// <exception cref="JsonException">It is not this JSON.</exception>
    /// <exception cref="InvalidDataException">It is empty, of a format this version does not know, or holds no secrets.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Its secrets do not open with this master key.</exception>
    /// <exception cref="FormatException">Its secrets are not base64.</exception>
    public static StoredTokens Read(ReadOnlySpan<byte> json, string accountName, TokenCipher cipher)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        var file = JsonSerializer.Deserialize(json, TokenJsonContext.Default.TokenFile)
            ?? throw new InvalidDataException("it is empty");
        if (file.Format != CurrentFormat)
        {
            throw new InvalidDataException($"format {file.Format} is not known to this version");
        }
        if (string.IsNullOrEmpty(file.Secrets))
        {
            throw new InvalidDataException("it holds no secrets");
        }
        return file.ToStoredTokens(cipher.Open(accountName, file.Secrets));
    }

    /// <summary>The tokens of this record, given its opened <paramref name="secrets"/>.</summary>
    public StoredTokens ToStoredTokens(TokenSecrets secrets) =>
        new(secrets.AccessToken, AccessTokenExpires, secrets.RefreshToken, RefreshTokenRotated, Identity, secrets.PasswordHash, SignInNeeded);
}
