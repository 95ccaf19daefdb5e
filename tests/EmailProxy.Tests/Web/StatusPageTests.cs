using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>
/// The status page (<c>GET /</c>) for each kind of account: its state line, its facts and the actions
/// its flow allows. An app-only account has no person to sign in, so no button; a device-code account
/// shows its code button and a browser sign-in instead; an account that cannot sign in in a browser
/// points at the command. Each account is a region named by its heading, its buttons named after it.
/// </summary>
public sealed class StatusPageTests
{
    private static async Task<string> SectionAsync(WebEndpointsHost host, string name) =>
        WebUtility.HtmlDecode(PageForms.SectionOf(await PageForms.StatusPageAsync(host), name));

    [Fact]
    public async Task StatusPage_AppOnlyAccountWithoutToken_SaysATokenIsFetchedAtTheFirstLoginAndHasNoSignInButton()
    {
        var app = TestAccounts.Create("app@example.com") with { Flow = OAuthFlow.ClientCredentials, AuthorizeUrl = null, ClientSecret = "app-secret-Value" };
        await using var host = await WebEndpointsHost.StartAsync(app, TestAccounts.Create());

        var page = await PageForms.StatusPageAsync(host);
        var section = WebUtility.HtmlDecode(PageForms.SectionOf(page, "app@example.com"));

        Assert.Contains("data-field=\"state\">App-only (client credentials): a token is fetched at the first login", section, StringComparison.Ordinal);
        Assert.DoesNotContain("Needs a sign-in", section, StringComparison.Ordinal);
        Assert.Empty(PageForms.ActionsOf(section));
        Assert.DoesNotContain("app-secret-Value", page, StringComparison.Ordinal);
        // The delegated account beside it keeps its button.
        Assert.Equal(["/accounts/sales@example.com/signin"], PageForms.ActionsOf(PageForms.SectionOf(page, "sales@example.com")).Select(Uri.UnescapeDataString));
    }

    [Fact]
    public async Task StatusPage_DeviceCodeAccount_OffersTheCodeAndABrowserSignInInstead()
    {
        var device = TestAccounts.Create() with { Flow = OAuthFlow.DeviceCode };
        await using var host = await WebEndpointsHost.StartAsync(device);

        var section = await SectionAsync(host, device.Name);

        Assert.Contains("data-field=\"state\">Needs a sign-in", section, StringComparison.Ordinal);
        Assert.Equal(["/accounts/sales%40example.com/device", "/accounts/sales%40example.com/signin"], PageForms.ActionsOf(PageForms.SectionOf(await PageForms.StatusPageAsync(host), device.Name)));
        Assert.Contains("Show device code<span class=\"visually-hidden\"> for sales@example.com</span>", section, StringComparison.Ordinal);
        Assert.Contains("Sign in<span class=\"visually-hidden\"> sales@example.com</span></button> <span class=\"hint\">in this browser instead of a code</span>", section, StringComparison.Ordinal);
        // No code asked for yet: the code's place is there for the script, hidden.
        Assert.Contains("<div class=\"device\" hidden>", section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_AccountWithoutAuthorizeUrl_NoButtonButTheAuthCommand()
    {
        var account = TestAccounts.Create() with { AuthorizeUrl = null };
        await using var host = await WebEndpointsHost.StartAsync(account);

        var section = await SectionAsync(host, account.Name);

        Assert.Contains("Needs a sign-in", section, StringComparison.Ordinal);
        Assert.Empty(PageForms.ActionsOf(section));
        Assert.Contains($"run <code>emailproxy auth {account.Name}</code>", section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_DeviceCodeAccountWithoutAuthorizeUrl_OnlyTheCodeButton()
    {
        var device = TestAccounts.Create() with { Flow = OAuthFlow.DeviceCode, AuthorizeUrl = null };
        await using var host = await WebEndpointsHost.StartAsync(device);

        var section = PageForms.SectionOf(await PageForms.StatusPageAsync(host), device.Name);

        Assert.Equal(["/accounts/sales%40example.com/device"], PageForms.ActionsOf(section));
        Assert.DoesNotContain("emailproxy auth", section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_SignedInAccount_ShowsIdentityTokenTimesAndTheForgetButtonButNoToken()
    {
        var account = TestAccounts.Create() with { ClientSecret = "the-client-Secret" };
        await using var host = await WebEndpointsHost.StartAsync(account);
        await host.Tokens.AcceptSignInAsync(account, new TokenEndpointResult { AccessToken = "at-Secret-1", RefreshToken = "rt-Secret-2", ExpiresAt = host.Time.GetUtcNow().AddHours(1) },
            CancellationToken.None, identity: "sales@example.com").Guarded();
        host.Time.Advance(TimeSpan.FromMinutes(3));

        var page = await PageForms.StatusPageAsync(host);
        var section = WebUtility.HtmlDecode(PageForms.SectionOf(page, account.Name));

        Assert.Contains("data-field=\"state\">Signed in as sales@example.com; access token valid until 2025-03-01 13:00 UTC</p>", section, StringComparison.Ordinal);
        Assert.Contains("<dt>Signed in as</dt><dd data-field=\"identity\">sales@example.com</dd>", section, StringComparison.Ordinal);
        Assert.Contains("<dt>Access token</dt><dd data-field=\"access-token\">valid until 2025-03-01 13:00 UTC (for 57 min 0 s)</dd>", section, StringComparison.Ordinal);
        Assert.Contains("<dt>Refresh token</dt><dd>last renewed 2025-03-01 12:00 UTC (3 min 0 s ago)", section, StringComparison.Ordinal);
        Assert.Contains("<dt>Provider</dt><dd>Microsoft</dd><dt>Flow</dt><dd>authorization code (browser)</dd><dt>Tenant</dt><dd>contoso.example</dd><dt>Mailbox</dt><dd>sales@example.com</dd>",
            section, StringComparison.Ordinal);
        Assert.Contains("<details><summary>Forget tokens…</summary>", section, StringComparison.Ordinal);
        Assert.Contains("Forget tokens<span class=\"visually-hidden\"> of sales@example.com</span>", section, StringComparison.Ordinal);
        foreach (var secret in (string[])["at-Secret-1", "rt-Secret-2", "the-client-Secret"])
        {
            Assert.DoesNotContain(secret, page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StatusPage_LoginsRecorded_ShowsLastLoginPerProtocolAndTheLastErrorWithItsCodeAndFix()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        host.Activity.Login("IMAP", LoginOutcome.Success(account, null!));
        host.Time.Advance(TimeSpan.FromMinutes(1));
        host.Activity.Login("SMTP", LoginOutcome.Fail(LoginFailure.SignInRequired,
            "Account sales@example.com needs an OAuth2 sign-in with Microsoft (AADSTS700082: The refresh token has expired due to inactivity.)", account));
        host.Activity.Login("POP3", LoginOutcome.Fail(LoginFailure.UnknownAccount, "no such account"));
        host.Metrics.SessionOpened("IMAP");
        host.Metrics.SessionOpened("IMAP");
        host.Metrics.SessionOpened("SMTP");
        host.Metrics.SessionEnded("SMTP", "relayed");

        var page = WebUtility.HtmlDecode(await PageForms.StatusPageAsync(host));
        var section = WebUtility.HtmlDecode(PageForms.SectionOf(page, account.Name));

        Assert.Contains("<dt>Last logins</dt><dd>IMAP 2025-03-01 12:00 UTC</dd>", section, StringComparison.Ordinal);
        Assert.Contains("<h3>Last error (2025-03-01 12:01 UTC)</h3>", section, StringComparison.Ordinal);
        Assert.Contains("data-field=\"last-error\">SMTP login: Account sales@example.com needs an OAuth2 sign-in with Microsoft (AADSTS700082: The refresh token has expired due to inactivity.)</p>",
            section, StringComparison.Ordinal);
        Assert.Contains("<code data-field=\"error-code\">AADSTS700082</code>", section, StringComparison.Ordinal);
        Assert.Contains("data-field=\"fix\"><strong>What to do:</strong> Press \"Sign in\" below and sign in as sales@example.com", section, StringComparison.Ordinal);
        Assert.Contains("<ul class=\"sessions\"><li>IMAP: 2</li></ul>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("no such account", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_NoAccounts_SaysHowToAddOne()
    {
        await using var host = await WebEndpointsHost.StartAsync();

        var page = WebUtility.HtmlDecode(await PageForms.StatusPageAsync(host));

        Assert.Contains("No account is configured yet. Add an <code>[account NAME]</code> section to", page, StringComparison.Ordinal);
        Assert.Contains("No mail client is connected right now.", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_Get_IsOneAccessibleDocumentWithItsOwnScriptAndStylesheetOnly()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative)).Guarded();
        var page = await response.Content.ReadAsStringAsync();

        Assert.True(response.Headers.CacheControl?.NoStore);
        Assert.StartsWith("<!doctype html><html lang=\"en\">", page, StringComparison.Ordinal);
        Assert.Contains("<script src=\"/static/status.js\" defer></script>", page, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"stylesheet\" href=\"/static/status.css\">", page, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", page, StringComparison.Ordinal);
        Assert.DoesNotMatch(" on[a-z]+=", page);
        Assert.Contains("aria-live=\"polite\"", page, StringComparison.Ordinal);
        Assert.Contains("<h1>", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/static/status.css", "text/css")]
    [InlineData("/static/status.js", "text/javascript")]
    public async Task StaticAsset_Get_ServedWithItsTypeAndCached(string path, string mediaType)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri(path, UriKind.Relative)).Guarded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=3600", response.Headers.CacheControl?.ToString());
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 500);
    }

    [Fact]
    public async Task CaPem_NoLocalCa_Returns404Page()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/ca.pem", UriKind.Relative)).Guarded();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No local CA", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
