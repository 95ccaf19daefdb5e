namespace EmailProxy.OAuth2;

/// <summary>What a token endpoint answered: tokens, or an error with the provider's code and words.</summary>
internal sealed record TokenEndpointResult
{
    public string? AccessToken { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
    public string? RefreshToken { get; init; }

    /// <summary>The OpenID Connect id_token, when the sign-in asked for <c>openid</c> (a JWT: who signed in). Never logged.</summary>
    public string? IdToken { get; init; }

    /// <summary>The OAuth2 error code (<c>invalid_grant</c>), or a short description of a transport failure.</summary>
    public string? Error { get; init; }

    /// <summary>The provider's description, AADSTS code included, trace and correlation ids dropped.</summary>
    public string? ErrorDescription { get; init; }

    /// <summary>The bare OAuth2 error code the provider sent (<c>authorization_pending</c>), whatever the HTTP status; null for transport failures.</summary>
    public string? Code { get; init; }

    /// <summary>A failure worth trying again unchanged: no answer, a 5xx or 429, or <c>temporarily_unavailable</c>.</summary>
    public bool Transient { get; init; }

    public bool IsError => Error is not null;
    public bool IsInvalidGrant => Error == "invalid_grant";

    /// <summary>One line for logs and client texts: code and description, never a token.</summary>
    public string ErrorText => ErrorDescription is null ? Error ?? "" : $"{Error}: {ErrorDescription}";

    public override string ToString() => IsError ? $"TokenEndpointResult {{ Error = {ErrorText} }}" : $"TokenEndpointResult {{ ExpiresAt = {ExpiresAt:O} }}";
}
