using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// The fake identity server's sign-in page on its own (no proxy): what the other browser tests click through must
/// hand the browser on to the redirect_uri with a code and the state, and only when asked for.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class FakeSignInPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Authorize_SignInPageShown_AcceptGoesToTheRedirectWithCodeAndState()
    {
        await using var identity = new FakeIdentityServer { ShowsSignInPage = true };
        await identity.StartAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await page.GotoAsync(AuthorizeUrl(identity));
        await Expect(page.GetByText("person@example.com")).ToBeVisibleAsync();
        var landed = page.WaitForRequestAsync(request => request.Url.StartsWith(LandingOf(identity) + "?", StringComparison.Ordinal));
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();

        var query = QueryHelpers.ParseQuery(new Uri((await landed).Url).Query);
        Assert.StartsWith("fake-code-", query["code"].ToString(), StringComparison.Ordinal);
        Assert.Equal("the-state", query["state"].ToString());
        Assert.Equal(1, identity.SignInPagesShown);
    }

    [Fact]
    public async Task Authorize_SignInPageOff_RedirectsAtOnceAsBefore()
    {
        await using var identity = new FakeIdentityServer();
        await identity.StartAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        var landed = page.WaitForRequestAsync(request => request.Url.StartsWith(LandingOf(identity) + "?code=", StringComparison.Ordinal));
        await NavigateAsync(page, AuthorizeUrl(identity));

        await landed;
        Assert.Equal(0, identity.SignInPagesShown);
    }

    /// <summary>
    /// Opens the address; the navigation's end is not awaited as a success, because it ends at <see cref="LandingOf"/>,
    /// which answers 404 (the test watches the request that goes there instead).
    /// </summary>
    private static async Task NavigateAsync(IPage page, string url)
    {
        try
        {
            await page.GotoAsync(url);
        }
        catch (PlaywrightException)
        {
            // net::ERR_HTTP_RESPONSE_CODE_FAILURE for the landing page's 404: expected.
        }
    }

    /// <summary>The redirect_uri: a path the fake does not serve (404); what matters is that the browser is sent there.</summary>
    private static string LandingOf(FakeIdentityServer identity) => identity.Authority + "/landed";

    private static string AuthorizeUrl(FakeIdentityServer identity) =>
        QueryHelpers.AddQueryString($"{identity.Authority}/{identity.Tenant}/oauth2/v2.0/authorize", new Dictionary<string, string?>
        {
            ["client_id"] = identity.ClientId,
            ["response_type"] = "code",
            ["redirect_uri"] = LandingOf(identity),
            ["scope"] = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
            ["state"] = "the-state",
            ["code_challenge"] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URB9kZVV6MSOWo",
            ["code_challenge_method"] = "S256",
            ["login_hint"] = "person@example.com",
        });
}
