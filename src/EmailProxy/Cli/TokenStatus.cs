using System.Text.Json.Serialization;

namespace EmailProxy.Cli;

/// <summary>
/// One account's row of <c>emailproxy tokens list/show</c>: what the configuration says, what its
/// token file's readable metadata says, and whether the proxy could use it. It holds no token and no
/// secret by construction: nothing of the decrypted secrets is copied here but whether they are there.
/// </summary>
internal sealed record TokenStatus
{
    [JsonPropertyName("account")] public required string Account { get; init; }
    [JsonPropertyName("username")] public required string Username { get; init; }
    [JsonPropertyName("provider")] public required string Provider { get; init; }
    [JsonPropertyName("flow")] public required string Flow { get; init; }

    /// <summary><c>signed-in</c>, <c>needs-sign-in</c>, or <c>no-token-yet</c> (client credentials: no person needed).</summary>
    [JsonPropertyName("state")] public required string State { get; init; }

    /// <summary>Why the account is not signed in; null when it is.</summary>
    [JsonPropertyName("reason")] public string? Reason { get; init; }

    /// <summary>Who signed in, from the token file's readable metadata (null for app-only tokens and older files).</summary>
    [JsonPropertyName("identity")] public string? Identity { get; init; }

    /// <summary>token_from: the account whose sign-in this one uses (its state is then <c>uses-sign-in-of</c>); null otherwise.</summary>
    [JsonPropertyName("uses_sign_in_of")] public string? UsesSignInOf { get; init; }

    /// <summary>The template (<c>*@contoso.com</c>) this account was made from; null for an account named in the file.</summary>
    [JsonPropertyName("template")] public string? Template { get; init; }

    [JsonPropertyName("token_file")] public required string TokenFile { get; init; }
    [JsonPropertyName("scopes")] public IReadOnlyList<string>? Scopes { get; init; }
    [JsonPropertyName("access_token_expires")] public DateTimeOffset? AccessTokenExpires { get; init; }
    [JsonPropertyName("access_token_expired")] public bool? AccessTokenExpired { get; init; }
    [JsonPropertyName("refresh_token_rotated")] public DateTimeOffset? RefreshTokenRotated { get; init; }
    [JsonPropertyName("refresh_token_age_days")] public int? RefreshTokenAgeDays { get; init; }
    [JsonPropertyName("saved")] public DateTimeOffset? Saved { get; init; }

    /// <summary>How the SMTP front sends the account's mail: SMTP, or Microsoft Graph (smtp_via, and an auto account's switch).</summary>
    [JsonPropertyName("sends_mail_through")] public string? SendsMailThrough { get; init; }

    /// <summary>Decoded from the access token when it is a JWT; not verified.</summary>
    [JsonPropertyName("claims")] public TokenClaims? Claims { get; init; }
}
