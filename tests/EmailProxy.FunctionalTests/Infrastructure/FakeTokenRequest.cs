namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One request the fake identity server received on its token endpoint, with its form body and the status answered.</summary>
internal sealed record FakeTokenRequest(string Tenant, string GrantType, IReadOnlyDictionary<string, string> Form)
{
    /// <summary>The HTTP status code answered (0 while the request is still being handled).</summary>
    public int StatusCode { get; set; }
}
