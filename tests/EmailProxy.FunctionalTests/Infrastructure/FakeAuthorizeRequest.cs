namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One request the fake identity server received on its authorize endpoint (valid or not).</summary>
internal sealed record FakeAuthorizeRequest(
    string Tenant,
    string? ClientId,
    string? ResponseType,
    string? RedirectUri,
    string? Scope,
    string? State,
    string? CodeChallenge,
    string? CodeChallengeMethod,
    string? LoginHint,
    IReadOnlyDictionary<string, string> Query);
