using System.Text.Json;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>The fake identity server's RFC 7662 introspection endpoint, as Dovecot's oauth2 passdb calls it (introspection_mode = post).</summary>
public sealed class IntrospectionEndpointTests
{
    [Fact]
    public async Task Introspect_IssuedToken_ActiveWithTheUsersEmailUntilItExpires()
    {
        await using var identity = new FakeIdentityServer();
        await identity.StartAsync();
        var tokens = identity.IssueTokenForTests(TestEnvironment.Account);
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };

        using (var active = await IntrospectAsync(http, identity, "token=" + Uri.EscapeDataString(tokens.AccessToken) + "&client_id=&client_secret="))
        {
            Assert.True(active.RootElement.GetProperty("active").GetBoolean());
            Assert.Equal(TestEnvironment.Account, active.RootElement.GetProperty("email").GetString());
            Assert.Equal("Bearer", active.RootElement.GetProperty("token_type").GetString());
            Assert.True(active.RootElement.GetProperty("exp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }

        identity.ExpireAllAccessTokens();
        foreach (var body in new[] { "token=" + Uri.EscapeDataString(tokens.AccessToken), "token=fake-at-unknown", "" })
        {
            using var inactive = await IntrospectAsync(http, identity, body);
            Assert.Equal("""{"active":false}""", inactive.RootElement.GetRawText());
        }

        Assert.Equal(4, identity.IntrospectionRequests);
    }

    private static async Task<JsonDocument> IntrospectAsync(HttpClient http, FakeIdentityServer identity, string form)
    {
        using var content = new StringContent(form, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await http.PostAsync(new Uri(identity.IntrospectionUrl), content);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
