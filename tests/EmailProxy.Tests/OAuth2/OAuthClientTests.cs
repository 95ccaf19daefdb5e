using System.Net;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.OAuth2;

/// <summary>What a token endpoint that misbehaves turns into: an error result with words for the operator, never an exception.</summary>
public sealed class OAuthClientTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();

    [Theory]
    [InlineData(HttpStatusCode.OK, "{not json")]
    [InlineData(HttpStatusCode.OK, "<html>Service Unavailable</html>")]
    [InlineData(HttpStatusCode.BadGateway, "<html>Bad Gateway</html>")]
    [InlineData(HttpStatusCode.OK, "{\"token_type\":\"Bearer\"}")]
    public async Task RefreshAsync_MalformedAnswer_IsAnErrorResult(HttpStatusCode status, string body)
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(status, body);

        var result = await _fx.Client.RefreshAsync(_fx.Account, "refresh", CancellationToken.None).Guarded();

        Assert.True(result.IsError);
        Assert.False(result.IsInvalidGrant);
        Assert.False(string.IsNullOrWhiteSpace(result.ErrorText));
        Assert.Null(result.AccessToken);
    }

    [Fact]
    public async Task RequestDeviceAuthorizationAsync_HugeLifetimeAndInterval_Bounded()
    {
        // Past about 49 days a timer cannot be set: a provider's (or an impostor's) numbers must not crash a wait.
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(HttpStatusCode.OK,
            "{\"device_code\":\"d\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":\"https://microsoft.com/devicelogin\",\"expires_in\":4294967,\"interval\":4294967}");
        var account = _fx.Account with { DeviceCodeUrl = new Uri("https://login.example/devicecode") };

        var result = await _fx.Client.RequestDeviceAuthorizationAsync(account, "openid", CancellationToken.None).Guarded();

        Assert.False(result.IsError, result.ErrorText);
        Assert.Equal(_fx.Time.GetUtcNow() + TimeSpan.FromDays(1), result.ExpiresAt);
        Assert.Equal(TimeSpan.FromMinutes(5), result.Interval);
    }

    public void Dispose() => _fx.Dispose();
}
