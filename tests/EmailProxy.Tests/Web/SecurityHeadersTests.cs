using System.Net;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>
/// Every answer of the HTTP listener carries the headers that keep a page from being framed, from running
/// a script it did not serve itself, and from leaking the redirect's code through a Referer.
/// </summary>
public sealed class SecurityHeadersTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/healthz")]
    [InlineData("/accounts/nobody/signin")]
    [InlineData("/?state=unknown&code=x")]
    [InlineData("/no-such-page")]
    public async Task AnyPage_Answer_CarriesTheSecurityHeaders(string path)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri(path, UriKind.Relative)).Guarded();

        Assert.Equal("DENY", Single(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Single(response, "Referrer-Policy"));
        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        var policy = Single(response, "Content-Security-Policy");
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForeignHost_421Answer_CarriesTheHeadersToo()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        request.Headers.Host = "attacker.example";

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.Equal("DENY", Single(response, "X-Frame-Options"));
    }

    private static string Single(HttpResponseMessage response, string name) =>
        Assert.Single(response.Headers.TryGetValues(name, out var values) ? values : []);
}
