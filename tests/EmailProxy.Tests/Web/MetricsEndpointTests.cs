using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;

namespace EmailProxy.Tests.Web;

/// <summary><c>/metrics</c> on the real listener: Prometheus text, guarded like the pages, and opened by <c>metrics_token</c> alone.</summary>
public sealed class MetricsEndpointTests
{
    private const string Password = "admin pa55word";
    private const string Token = "scrape-0123456789abcdef";
    private static readonly string Hash = PasswordVerifier.Hash(Password);

    private static async Task<HttpResponseMessage> GetAsync(WebEndpointsHost host, string target, AuthenticationHeaderValue? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, UriKind.Relative));
        request.Headers.Authorization = authorization;
        return await host.Http.SendAsync(request).Guarded();
    }

    private static AuthenticationHeaderValue Basic(string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));

    private static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    [Fact]
    public async Task Metrics_NoAdminPassword_ServesPrometheusTextWithTheCounts()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        host.Metrics.Login("IMAP", LoginFailure.None);
        host.Metrics.Login("IMAP", LoginFailure.None);
        host.Metrics.Login("SMTP", LoginFailure.SignInRequired);
        host.Metrics.UpstreamConnect("outlook", TimeSpan.FromMilliseconds(20));
        host.Metrics.SessionOpened("IMAP");
        host.Metrics.SessionOpened("IMAP");
        host.Metrics.SessionEnded("IMAP", "relayed");

        using var response = await GetAsync(host, "/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("emailproxy_logins{outcome=\"ok\",protocol=\"IMAP\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("emailproxy_logins{outcome=\"sign_in_needed\",protocol=\"SMTP\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("emailproxy_sessions_open{protocol=\"IMAP\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("emailproxy_sessions_ended{outcome=\"relayed\",protocol=\"IMAP\"} 1", text, StringComparison.Ordinal);
        // Durations in seconds, with buckets up to the 30-second time limits.
        Assert.Contains("emailproxy_upstream_connect_seconds_bucket{server=\"outlook\",le=\"0.025\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("emailproxy_upstream_connect_seconds_bucket{server=\"outlook\",le=\"30\"} 1", text, StringComparison.Ordinal);
        // Only the proxy's own meter: prometheus-net's process and .NET collectors are off.
        Assert.DoesNotContain("process_", text, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet_", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AdminPasswordSetNoCredentials_Returns401()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash, MetricsToken = Token }, TestAccounts.Create());

        using var response = await GetAsync(host, "/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("emailproxy_", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AdminPassword_Returns200()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash, MetricsToken = Token }, TestAccounts.Create());

        using var response = await GetAsync(host, "/metrics", Basic(Password));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_MetricsToken_Returns200WithoutTheAdminPassword()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash, MetricsToken = Token }, TestAccounts.Create());
        host.Metrics.Login("POP3", LoginFailure.Unavailable);

        using var response = await GetAsync(host, "/metrics", Bearer(Token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("emailproxy_logins{outcome=\"unavailable\",protocol=\"POP3\"} 1", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scrape-0123456789abcdeX")]
    [InlineData("scrape-0123456789abcdef0")]
    [InlineData("x")]
    public async Task Metrics_WrongMetricsToken_Returns401AndLogsWithoutTheToken(string token)
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash, MetricsToken = Token }, TestAccounts.Create());

        using var response = await GetAsync(host, "/metrics", Bearer(token));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        var logged = Assert.Single(host.Log.Entries, e => e.EventId.Name == "MetricsTokenWrong");
        Assert.Equal("A wrong bearer token for /metrics from 127.0.0.1 (metrics_token set: True)", logged.Message);
        Assert.All(host.Log.Lines, line => Assert.DoesNotContain("scrape-", line, StringComparison.Ordinal));
        Assert.Equal(1, host.Throttle.TrackedCount);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/accounts/sales%40example.com/signin")]
    public async Task Page_MetricsToken_Returns401(string target)
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash, MetricsToken = Token }, TestAccounts.Create());

        using var response = await GetAsync(host, target, Bearer(Token));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }

    [Fact]
    public async Task Metrics_AdminPasswordWithoutMetricsToken_BearerReturns401()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = Hash }, TestAccounts.Create());

        using var response = await GetAsync(host, "/metrics", Bearer(Token));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
