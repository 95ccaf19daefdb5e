using System.Net;
using System.Net.Http.Headers;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>The HTTP listener answers only its own Host names: a DNS-rebinding page's name gets 421.</summary>
public sealed class HostHeaderCheckTests
{
    private static async Task<HttpResponseMessage> GetAsync(WebEndpointsHost host, string target, string hostHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, UriKind.Relative));
        request.Headers.Host = hostHeader;
        return await host.Http.SendAsync(request).Guarded();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/accounts/sales%40example.com/signin")]
    [InlineData("/no/such/page")]
    public async Task Request_ForeignHost_Is421AndStartsNothing(string target)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await GetAsync(host, target, "rebound.evil.example:18089");

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("sales@example.com", body, StringComparison.Ordinal);
        Assert.Null(response.Headers.Location);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:18089")]
    [InlineData("127.0.0.1:1")]
    [InlineData("[::1]:18089")]
    public async Task Request_OwnHostName_IsServed(string hostHeader)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await GetAsync(host, "/", hostHeader);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_NameListedInWebHosts_IsServed()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { WebHosts = ["mail-proxy", "proxy.lan"] }, TestAccounts.Create());

        using var listed = await GetAsync(host, "/", "Proxy.LAN:18089");
        using var other = await GetAsync(host, "/", "proxy.lan.evil.example");

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, other.StatusCode);
    }

    [Fact]
    public async Task Request_RedirectUriHost_IsServed()
    {
        var general = new GeneralOptions { RedirectUri = new Uri("http://mail.example.internal:18089/") };
        await using var host = await WebEndpointsHost.StartAsync(general, TestAccounts.Create());

        using var response = await GetAsync(host, "/", "mail.example.internal:18089");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_ForeignHost_StillAnswers()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await GetAsync(host, "/healthz", "10.1.2.3:18089");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
