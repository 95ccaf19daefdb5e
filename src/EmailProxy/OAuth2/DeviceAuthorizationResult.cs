namespace EmailProxy.OAuth2;

/// <summary>
/// What a device authorization endpoint (RFC 8628 section 3.2) answered: the codes and where the
/// person enters one, or an error with the provider's code and words.
/// </summary>
internal sealed record DeviceAuthorizationResult
{
    /// <summary>RFC 8628: a client that is given no interval polls every 5 seconds.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>The longest a device code is kept, whatever <c>expires_in</c> says: a day.</summary>
    public const int MaxLifetimeSeconds = 24 * 60 * 60;

    /// <summary>The longest wait between polls, whatever <c>interval</c> says: 5 minutes.</summary>
    public const int MaxIntervalSeconds = 5 * 60;

    /// <summary>The code the proxy polls the token endpoint with. A secret: never logged, never shown.</summary>
    public string? DeviceCode { get; init; }

    /// <summary>The short code the person enters at <see cref="VerificationUri"/> (shown to people by design).</summary>
    public string? UserCode { get; init; }

    public Uri? VerificationUri { get; init; }

    /// <summary>When both codes stop working (the provider's <c>expires_in</c>).</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>How long to wait between polls (the provider's <c>interval</c>, else <see cref="DefaultInterval"/>).</summary>
    public TimeSpan Interval { get; init; } = DefaultInterval;

    /// <summary>The OAuth2 error code (<c>invalid_client</c>), or a short description of a transport failure.</summary>
    public string? Error { get; init; }

    /// <summary>The provider's description, AADSTS code included, trace and correlation ids dropped.</summary>
    public string? ErrorDescription { get; init; }

    public bool IsError => Error is not null;

    /// <summary>One line for logs and client texts: code and description, never the device code.</summary>
    public string ErrorText => ErrorDescription is null ? Error ?? "" : $"{Error}: {ErrorDescription}";

    public override string ToString() => IsError
        ? $"DeviceAuthorizationResult {{ Error = {ErrorText} }}"
        : $"DeviceAuthorizationResult {{ VerificationUri = {VerificationUri}, UserCode = {UserCode}, ExpiresAt = {ExpiresAt:O} }}";
}
