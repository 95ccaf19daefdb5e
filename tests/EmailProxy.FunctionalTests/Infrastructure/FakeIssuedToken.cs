namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>An access or refresh token issued by <see cref="FakeIdentityServer"/>.</summary>
internal sealed class FakeIssuedToken(string user, string clientId, string scope, DateTimeOffset expiresAt)
{
    public string User { get; } = user;

    public string ClientId { get; } = clientId;

    public string Scope { get; } = scope;

    public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

    public bool Revoked { get; set; }
}
