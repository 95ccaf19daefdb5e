namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>Tokens issued by the fake identity server.</summary>
internal sealed record FakeTokenSet(string AccessToken, string? RefreshToken, int ExpiresIn, string Scope);
