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

    /// <summary>
    /// The pages hold the accounts' state and anti-forgery tokens: never cached (no-cache, no-store, set before the page is
    /// made), and exactly as ASP.NET's anti-forgery wants them, which otherwise logs a warning at every view of the page.
    /// </summary>
    [Fact]
    public async Task StatusPage_Answer_IsNotCachedAndLogsNoWarning()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative)).Guarded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("__csrf", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl is { NoStore: true, NoCache: true }, response.Headers.CacheControl?.ToString());
        var warnings = host.Log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => $"{e.Category}: {e.Message}").ToList();
        Assert.True(warnings.Count == 0, string.Join("\n", warnings));
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
