namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>A single-use authorization code issued by <see cref="FakeIdentityServer"/>.</summary>
internal sealed class FakeAuthorizationCode(string clientId, string redirectUri, string codeChallenge, string user, string scope)
{
    public string ClientId { get; } = clientId;

    public string RedirectUri { get; } = redirectUri;

    public string CodeChallenge { get; } = codeChallenge;

    public string User { get; } = user;

    public string Scope { get; } = scope;

    public bool Redeemed { get; set; }
}
