namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>Tokens issued by the fake identity server.</summary>
internal sealed record FakeTokenSet(string AccessToken, string? RefreshToken, int ExpiresIn, string Scope)
{
    /// <summary>The OpenID Connect id_token, when the request asked for openid.</summary>
    public string? IdToken { get; init; }
}
