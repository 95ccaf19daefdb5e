using System.Net;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

/// <summary>What a token endpoint that misbehaves turns into: an error result with words for the operator, never an exception.</summary>
public sealed class OAuthClientTests : IDisposable
{
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _http;
    private readonly OAuthClient _client;

    public OAuthClientTests()
    {
        _http = new HttpClient(_endpoint);
        _client = new OAuthClient(_http, new FakeTimeProvider());
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, "{not json")]
    [InlineData(HttpStatusCode.OK, "<html>Service Unavailable</html>")]
    [InlineData(HttpStatusCode.BadGateway, "<html>Bad Gateway</html>")]
    [InlineData(HttpStatusCode.OK, "{\"token_type\":\"Bearer\"}")]
    public async Task RefreshAsync_MalformedAnswer_IsAnErrorResult(HttpStatusCode status, string body)
    {
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Json(status, body);

        var result = await _client.RefreshAsync(TestAccounts.Create(), "refresh", CancellationToken.None).Guarded();

        Assert.True(result.IsError);
        Assert.False(result.IsInvalidGrant);
        Assert.False(string.IsNullOrWhiteSpace(result.ErrorText));
        Assert.Null(result.AccessToken);
    }

    public void Dispose() => _http.Dispose();
}
