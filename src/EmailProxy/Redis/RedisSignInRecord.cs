using System.Text.Json.Serialization;
using EmailProxy.OAuth2;

namespace EmailProxy.Redis;

/// <summary>
/// A pending sign-in as Redis keeps it for the other replicas (sealed under the master key by <see cref="RedisSignInStore"/>):
/// what any replica needs to show it, to complete a browser sign-in whose redirect lands there (state, PKCE verifier, the
/// redirect URI it was started with), or to poll a device code when the replica that asked for it is gone. A class, not a
/// record: its generated <c>ToString</c> would print the secrets.
/// </summary>
internal sealed class RedisSignInRecord
{
    public required string Account { get; init; }

    public required SignInMethod Method { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Browser: the random state the redirect carries back. Secret.</summary>
    public string? State { get; init; }

    /// <summary>Browser: the PKCE verifier. Secret.</summary>
    public string? CodeVerifier { get; init; }

    /// <summary>Browser: the redirect URI the authorize request named, which the code is redeemed with.</summary>
    public string? RedirectUri { get; init; }

    /// <summary>Browser: the provider's authorize URL (it holds the state: shown to people, never logged by other replicas).</summary>
    public string? AuthorizeUrl { get; init; }

    /// <summary>Device code: the device_code the token endpoint is polled with. Secret.</summary>
    public string? DeviceCode { get; init; }

    /// <summary>Device code: the code the person types (meant for people).</summary>
    public string? UserCode { get; init; }

    public string? VerificationUri { get; init; }

    /// <summary>Device code: the provider's polling interval.</summary>
    public int IntervalSeconds { get; init; }

    /// <summary>
    /// What names the sign-in among the replicas (keys, pub/sub messages): the SHA-256 of its state or device code, so
    /// that no key and no message holds the secret itself.
    /// </summary>
    [JsonIgnore]
    public string Id => RedisSignInStore.Hash((Method == SignInMethod.Browser ? State : DeviceCode) ?? "");

    /// <summary>Whether what a replica needs for its method is there (a record sealed by another version may lack it).</summary>
    [JsonIgnore]
    public bool IsComplete => Method == SignInMethod.Browser
        ? State is { Length: > 0 } && CodeVerifier is { Length: > 0 } && Uri.TryCreate(AuthorizeUrl, UriKind.Absolute, out _)
        : DeviceCode is { Length: > 0 } && UserCode is { Length: > 0 } && Uri.TryCreate(VerificationUri, UriKind.Absolute, out _);

    public override string ToString() => $"RedisSignInRecord {{ Account = {Account}, Method = {Method}, ExpiresAt = {ExpiresAt:O} }}";
}
