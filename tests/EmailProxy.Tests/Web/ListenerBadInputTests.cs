using System.Net;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>The listener's bad input that its own code answers: each gets a page for a person, the right status, and changes nothing stored.</summary>
public sealed class ListenerBadInputTests
{
    private static Uri Relative(string target) => new(target, UriKind.Relative);

    [Fact]
    public async Task Request_ForgedHost_Is421PageNamingTheFix()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/"));
        request.Headers.Host = "rebound.evil.example";

        using var response = await host.Http.SendAsync(request).Guarded();
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>Wrong address for this page</h1>", page, StringComparison.Ordinal);
        Assert.Contains("add the name you used to web_hosts", page, StringComparison.Ordinal);
        Assert.DoesNotContain("rebound.evil.example", page, StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Request_ProbeByAnyHost_IsNotRefusedForTheHost(string target)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative(target));
        request.Headers.Host = "10.1.2.3:18089";

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.NotEqual(HttpStatusCode.MisdirectedRequest, response.StatusCode);
    }

    [Fact]
    public async Task Redirect_ReplayedState_Is400PageAndRedeemsNothingMore()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        var state = Uri.EscapeDataString(host.SignIns.StartOrJoin(account).State);
        using var first = await host.Http.GetAsync(Relative($"/?state={state}&code=first-code")).Guarded();

        using var replay = await host.Http.GetAsync(Relative($"/?state={state}&code=other-code")).Guarded();
        var page = await replay.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("text/html", replay.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>Sign-in failed</h1>", page, StringComparison.Ordinal);
        Assert.Equal(1, host.Endpoint.RequestCount);
        Assert.Equal("first-code", host.Endpoint.Forms.Single()["code"]);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }

    [Fact]
    public async Task Redirect_ForeignState_Is400PageAndStoresNothing()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        host.SignIns.StartOrJoin(account);

        using var response = await host.Http.GetAsync(Relative("/?state=someone-elses-state&code=c")).Guarded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<h1>Sign-in failed</h1>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, host.Endpoint.RequestCount);
        Assert.False((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }
}
