using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>
/// The status page's table (<c>GET /</c>) for each kind of account: what its state cell says and what its link
/// does. An app-only account has no person to sign in, so no link; a device-code account's link is a browser
/// sign-in instead of the code, and says so; an account that cannot sign in in a browser points at the command.
/// </summary>
public sealed class StatusPageTests
{
    private static async Task<string> StatusPageAsync(WebEndpointsHost host)
    {
        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative)).Guarded();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The table row of <paramref name="name"/> (the page has one row per account).</summary>
    private static string RowOf(string page, string name)
    {
        var start = page.IndexOf($"<tr><td>{name}</td>", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no row for {name} in: {page}");
        var end = page.IndexOf("</tr>", start, StringComparison.Ordinal);
        return page[start..end];
    }

    [Fact]
    public async Task StatusPage_AppOnlyAccountWithoutToken_SaysATokenIsFetchedAtTheFirstLoginAndHasNoSignInLink()
    {
        var app = TestAccounts.Create("app@example.com") with { Flow = OAuthFlow.ClientCredentials, AuthorizeUrl = null, ClientSecret = "app-secret-Value" };
        await using var host = await WebEndpointsHost.StartAsync(app, TestAccounts.Create());

        var page = await StatusPageAsync(host);
        var row = RowOf(page, "app@example.com");

        Assert.Contains("app-only (client credentials): a token is fetched at the first login", row, StringComparison.Ordinal);
        Assert.DoesNotContain("needs a sign-in", row, StringComparison.Ordinal);
        Assert.DoesNotContain("<a ", row, StringComparison.Ordinal);
        Assert.DoesNotContain("app-secret-Value", page, StringComparison.Ordinal);
        // The delegated account beside it keeps its link.
        Assert.Contains("/accounts/sales%40example.com/signin\">Sign in</a>", RowOf(page, "sales@example.com"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_DeviceCodeAccount_LinkSaysItSignsInInThisBrowserInsteadOfACode()
    {
        var device = TestAccounts.Create() with { Flow = OAuthFlow.DeviceCode };
        await using var host = await WebEndpointsHost.StartAsync(device);

        var row = RowOf(await StatusPageAsync(host), device.Name);

        Assert.Contains("needs a sign-in", row, StringComparison.Ordinal);
        Assert.Contains("/accounts/sales%40example.com/signin\">Sign in in this browser (instead of a device code)</a>", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_AccountWithoutAuthorizeUrl_NoLinkButTheAuthCommand()
    {
        var device = TestAccounts.Create() with { Flow = OAuthFlow.DeviceCode, AuthorizeUrl = null };
        await using var host = await WebEndpointsHost.StartAsync(device);

        var row = RowOf(await StatusPageAsync(host), device.Name);

        Assert.Contains("needs a sign-in", row, StringComparison.Ordinal);
        Assert.DoesNotContain("<a ", row, StringComparison.Ordinal);
        Assert.Contains($"no browser sign-in: run emailproxy auth {device.Name}", row, StringComparison.Ordinal);
    }
}
