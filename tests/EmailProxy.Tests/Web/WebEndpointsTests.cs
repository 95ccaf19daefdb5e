using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

public sealed class WebEndpointsTests
{
    [Fact]
    public async Task Healthz_Get_AnswersOk()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/healthz", UriKind.Relative)).Guarded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SignIn_UnknownAccount_Returns404PageWithTheNameEncoded()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri($"/accounts/{Uri.EscapeDataString("<b onclick=alert(1)>nobody")}/signin", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Unknown account", body, StringComparison.Ordinal);
        Assert.Contains("[account &lt;b onclick=alert(1)&gt;nobody]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<b onclick", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignInPage_KnownAccount_ShowsTheButtonAndStartsNothing()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);

        using var response = await host.Http.GetAsync(new Uri($"/accounts/{Uri.EscapeDataString(account.Name)}/signin", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<h2 id=\"account-1\">sales@example.com</h2>", body, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\">Sign in<span class=\"visually-hidden\"> sales@example.com</span></button>", body, StringComparison.Ordinal);
        Assert.Equal(["/accounts/sales%40example.com/signin"], PageForms.ActionsOf(body));
        Assert.Null(host.SignIns.Current(account));
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }

    [Fact]
    public async Task SignIn_PostFromThePage_RedirectsToTheProviderWithItsState()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        var page = await host.Http.GetStringAsync(new Uri($"/accounts/{Uri.EscapeDataString(account.Name)}/signin", UriKind.Relative)).Guarded();

        using var response = await PageForms.PostAsync(host, PageForms.ActionsOf(page).Single(), PageForms.TokenOf(page));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var location = Assert.IsType<Uri>(response.Headers.Location);
        Assert.Equal(account.AuthorizeUrl!.GetLeftPart(UriPartial.Path), location.GetLeftPart(UriPartial.Path));
        Assert.Equal(host.SignIns.StartOrJoin(account).AuthorizeUrl, location);
    }

    [Fact]
    public async Task SignInPage_DeviceCodeAccountWithoutAuthorizeUrl_ShowsOnlyTheDeviceCodeButton()
    {
        var account = TestAccounts.Create() with { Flow = OAuthFlow.DeviceCode, AuthorizeUrl = null };
        await using var host = await WebEndpointsHost.StartAsync(account);

        var page = await host.Http.GetStringAsync(new Uri($"/accounts/{Uri.EscapeDataString(account.Name)}/signin", UriKind.Relative)).Guarded();

        Assert.Equal(["/accounts/sales%40example.com/device"], PageForms.ActionsOf(page));
        Assert.Contains("Show device code<span class=\"visually-hidden\"> for sales@example.com</span>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_AccountWithoutAuthorizeUrl_Returns404PageInsteadOfAServerError()
    {
        var account = TestAccounts.Create() with { AuthorizeUrl = null };
        // The other account's button gives the page an anti-forgery field.
        await using var host = await WebEndpointsHost.StartAsync(account, TestAccounts.Create("other@example.com"));

        using var response = await host.Http.GetAsync(new Uri($"/accounts/{Uri.EscapeDataString(account.Name)}/signin", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No browser sign-in", body, StringComparison.Ordinal);
        Assert.Contains("authorize_url", body, StringComparison.Ordinal);

        using var posted = await PageForms.PostAsync(host, $"/accounts/{Uri.EscapeDataString(account.Name)}/signin", await PageForms.TokenAsync(host));
        Assert.Equal(HttpStatusCode.NotFound, posted.StatusCode);
        Assert.Null(host.SignIns.Current(account));
    }

    [Fact]
    public async Task Redirect_UnknownState_Returns400PageWithHtmlEncodedText()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/?state=not-a-state&code=the-code", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>Sign-in failed</h1>", body, StringComparison.Ordinal);
        // The message's apostrophe ("the proxy's status page") reaches the page encoded.
        Assert.Contains("proxy&#x27;s status page", body, StringComparison.Ordinal);
        Assert.DoesNotContain("proxy's", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirect_ProviderErrorWithMarkup_Returns400PageWithTheMarkupEncoded()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        var state = host.SignIns.StartOrJoin(account).State;

        var query = $"/?state={Uri.EscapeDataString(state)}&error=access_denied&error_description={Uri.EscapeDataString("<script>alert(1)</script>")}";
        using var response = await host.Http.GetAsync(new Uri(query, UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("access_denied", body, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_AccountNameWithMarkup_ListsItEncodedWithAnEscapedSignInLink()
    {
        const string Name = "<img src=x onerror=alert(1)>@example.com";
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create(Name));

        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;@example.com", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", body, StringComparison.Ordinal);
        Assert.Contains($"/accounts/{Uri.EscapeDataString(Name)}/signin", body, StringComparison.Ordinal);
        Assert.Contains("Needs a sign-in", body, StringComparison.Ordinal);
    }

    /// <summary>Account names the configuration allows that mean something in a URL, in HTML or to a router.</summary>
    public static TheoryData<string> AwkwardNames => new()
    {
        "a+b@example.com",
        "sales & marketing@example.com",
        "100%@example.com",
        "a%2Fb@example.com",
        "a%2B%20b@example.com",
        "a#b@example.com",
        "a?b=c@example.com",
        "with space@example.com",
        "zoë@exämple.com",
        "日本語@例え.jp",
        "a;b,c:d@example.com",
        "<i>\"q\"</i>'@example.com",
        // Refused by the configuration reader since issue 11, yet routed exactly: %2F is not a path separator here.
        "a/b@example.com",
        "a\\b@example.com",
    };

    [Theory]
    [MemberData(nameof(AwkwardNames))]
    public async Task SignIn_LinkOfTheSignInManager_RoutesToThatAccount(string name)
    {
        var account = TestAccounts.Create(name);
        await using var host = await WebEndpointsHost.StartAsync(account, TestAccounts.Create("other@example.com"));
        var link = host.SignIns.SignInPageFor(account);

        using var page = await host.Http.GetAsync(new Uri(link.PathAndQuery, UriKind.Relative)).Guarded();
        var body = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"<h2 id=\"account-", body, StringComparison.Ordinal);
        Assert.Contains($">{System.Text.Encodings.Web.HtmlEncoder.Default.Encode(name)}</h2>", body, StringComparison.Ordinal);
        using var response = await PageForms.PostAsync(host, PageForms.ActionsOf(body).Single(), PageForms.TokenOf(body));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(host.SignIns.StartOrJoin(account).AuthorizeUrl, response.Headers.Location);
        Assert.Equal("/signin", link.AbsolutePath[link.AbsolutePath.LastIndexOf('/')..]);
        Assert.Empty(link.Query);
        Assert.Empty(link.Fragment);
    }

    [Theory]
    [MemberData(nameof(AwkwardNames))]
    public async Task StatusPage_AwkwardAccountName_LinkRoutesToThatAccount(string name)
    {
        var account = TestAccounts.Create(name);
        await using var host = await WebEndpointsHost.StartAsync(account, TestAccounts.Create("other@example.com"));
        var page = await PageForms.StatusPageAsync(host);
        var signIns = PageForms.ActionsOf(page).Where(a => a.EndsWith("/signin", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, signIns.Count);

        foreach (var action in signIns)
        {
            using var response = await PageForms.PostAsync(host, action, PageForms.TokenOf(page));
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        }

        var started = host.Log.Entries.Where(e => e.EventId.Name == "SignInNeeded").Select(e => e.Message).ToList();
        Assert.Equal(2, started.Count);
        Assert.Contains(started, m => m.StartsWith($"OAuth2 sign-in needed for account {name} with", StringComparison.Ordinal));
        Assert.Contains(started, m => m.StartsWith("OAuth2 sign-in needed for account other@example.com with", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a b@example.com")]
    [InlineData("a%252Bb@example.com")]
    [InlineData("a%2525b@example.com")]
    [InlineData("a%2Bb%2Fc@example.com")]
    [InlineData("a%20b@example.com")]
    [InlineData("nobody")]
    public async Task SignIn_NameThatOnlyLooksLikeAnAccount_Returns404AndStartsNothing(string requested)
    {
        // The path as sent, not escaped again: a+b must not be reached by a+b's decoded or double-decoded forms.
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create("a+b@example.com"), TestAccounts.Create("a%b@example.com"));

        using var response = await host.Http.GetAsync(new Uri($"/accounts/{requested}/signin", UriKind.Relative)).Guarded();
        using var posted = await PageForms.PostAsync(host, $"/accounts/{requested}/signin", await PageForms.TokenAsync(host));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Unknown account", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, posted.StatusCode);
        Assert.Contains("Unknown account", await posted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }
}
