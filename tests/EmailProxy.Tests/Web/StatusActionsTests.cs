using System.Net;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>
/// The status page's actions: each a POST with the page's anti-forgery field, none reachable by a GET or
/// by a form from elsewhere; an unknown account, a missing or wrong token, an empty paste or a huge body
/// get a page with the right status and change nothing. And <c>/status.json</c>, which the page's script polls.
/// </summary>
public sealed class StatusActionsTests
{
    private const string Path = "/accounts/sales%40example.com";

    private static readonly string[] Actions = ["signin", "device", "paste", "forget"];

    private static AccountOptions DeviceAccount() => TestAccounts.Create() with
    {
        Flow = OAuthFlow.DeviceCode,
        DeviceCodeUrl = new Uri("https://login.example.test/contoso.example/oauth2/v2.0/devicecode"),
    };

    /// <summary>The provider gives a device code (ABCD-EFGH, 15 minutes) and then keeps saying "pending".</summary>
    private static void GiveDeviceCodes(WebEndpointsHost host) => host.Endpoint.Respond = (_, form) => form.ContainsKey("grant_type")
        ? StubTokenEndpoint.Json(HttpStatusCode.BadRequest, "{\"error\":\"authorization_pending\",\"error_description\":\"AADSTS70016: pending\"}")
        : StubTokenEndpoint.Json(HttpStatusCode.OK,
            "{\"device_code\":\"the-device-Secret\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":\"https://microsoft.com/devicelogin\",\"expires_in\":900,\"interval\":5}");

    private static Task<bool> SeedTokensAsync(WebEndpointsHost host, AccountOptions account) =>
        host.Tokens.AcceptSignInAsync(account, new TokenEndpointResult { AccessToken = "at-Secret", RefreshToken = "rt-Secret", ExpiresAt = host.Time.GetUtcNow().AddHours(1) },
            CancellationToken.None, identity: account.Username).Guarded();

    [Fact]
    public async Task Device_PostFromThePage_RedirectsToTheAccountWhichShowsTheCodeAndStatusJsonToo()
    {
        var account = DeviceAccount();
        await using var host = await WebEndpointsHost.StartAsync(account);
        GiveDeviceCodes(host);

        using var response = await PageForms.PostAsync(host, $"{Path}/device", await PageForms.TokenAsync(host));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/#account-1", response.Headers.Location?.OriginalString);
        var section = WebUtility.HtmlDecode(PageForms.SectionOf(await PageForms.StatusPageAsync(host), account.Name));
        Assert.Contains("<div class=\"live\" aria-live=\"polite\"><p class=\"state\" data-field=\"state\">Signing in with a device code", section, StringComparison.Ordinal);
        Assert.Contains("<div class=\"device\">", section, StringComparison.Ordinal);
        Assert.Contains("data-field=\"user-code\">ABCD-EFGH</p>", section, StringComparison.Ordinal);
        Assert.Contains("<a data-field=\"verification-uri\" href=\"https://microsoft.com/devicelogin\"", section, StringComparison.Ordinal);
        Assert.Contains("data-expires-at=\"2025-03-01T12:15:00.0000000+00:00\">The code expires in 15 min 0 s.</p>", section, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(await host.Http.GetStringAsync(new Uri("/status.json", UriKind.Relative)).Guarded());
        var shown = json.RootElement.GetProperty("accounts")[0];
        Assert.Equal("account-1", shown.GetProperty("id").GetString());
        Assert.Equal("sales@example.com", shown.GetProperty("name").GetString());
        Assert.Equal("ABCD-EFGH", shown.GetProperty("user_code").GetString());
        Assert.Equal("https://microsoft.com/devicelogin", shown.GetProperty("verification_uri").GetString());
        Assert.StartsWith("Signing in with a device code", shown.GetProperty("state").GetString(), StringComparison.Ordinal);
        Assert.False(shown.GetProperty("signed_in").GetBoolean());
        Assert.DoesNotContain("the-device-Secret", json.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusJson_SignedInAccount_SaysSoWithoutAnySecret()
    {
        var account = TestAccounts.Create() with { ClientSecret = "the-client-Secret" };
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);

        using var response = await host.Http.GetAsync(new Uri("/status.json", UriKind.Relative)).Guarded();
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        var shown = json.RootElement.GetProperty("accounts")[0];
        Assert.True(shown.GetProperty("signed_in").GetBoolean());
        Assert.StartsWith("Signed in as sales@example.com", shown.GetProperty("state").GetString(), StringComparison.Ordinal);
        Assert.False(shown.TryGetProperty("user_code", out _));
        foreach (var secret in (string[])["at-Secret", "rt-Secret", "the-client-Secret"])
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Forget_PostFromThePage_ForgetsTheTokensAndRedirectsToTheAccount()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);

        using var response = await PageForms.PostAsync(host, $"{Path}/forget", await PageForms.TokenAsync(host));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/#account-1", response.Headers.Location?.OriginalString);
        Assert.False((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
        Assert.StartsWith("Needs a sign-in", WebUtility.HtmlDecode(PageForms.SectionOf(await PageForms.StatusPageAsync(host), account.Name))
            .Split("data-field=\"state\">")[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Paste_AddressOfTheSignInUnderWay_SignsInAndSaysSo()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { LocalServerAuth = false }, account);
        var token = await PageForms.TokenAsync(host);
        using var started = await PageForms.PostAsync(host, $"{Path}/signin", token);
        var state = host.SignIns.Current(account)!.State;

        using var pasted = await PageForms.PostAsync(host, $"{Path}/paste", token, ("address", $"  http://127.0.0.1:18089/?code=the-code&state={state}\n"));
        var body = await pasted.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, pasted.StatusCode);
        Assert.Contains("<h1>Signed in</h1>", body, StringComparison.Ordinal);
        Assert.Equal("the-code", Assert.Single(host.Endpoint.Forms)["code"]);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }

    [Fact]
    public async Task StatusPage_LocalServerAuthOff_HasALabelledPasteForm()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { LocalServerAuth = false }, account);

        var section = PageForms.SectionOf(await PageForms.StatusPageAsync(host), account.Name);

        Assert.Contains($"{Path}/paste", PageForms.ActionsOf(section));
        Assert.Contains("<label for=\"paste-account-1\">Address from the browser's address bar<span class=\"visually-hidden\"> for sales@example.com</span></label>", section, StringComparison.Ordinal);
        Assert.Contains("<textarea id=\"paste-account-1\" name=\"address\"", section, StringComparison.Ordinal);
        Assert.Contains("Paste the address<span class=\"visually-hidden\"> for sales@example.com</span></button>", section, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n ")]
    public async Task Paste_EmptyAddress_Returns400PageAndCompletesNothing(string address)
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        var token = await PageForms.TokenAsync(host);
        using var started = await PageForms.PostAsync(host, $"{Path}/signin", token);

        using var pasted = await PageForms.PostAsync(host, $"{Path}/paste", token, ("address", address));

        Assert.Equal(HttpStatusCode.BadRequest, pasted.StatusCode);
        Assert.Contains("Nothing pasted", await pasted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(host.SignIns.Current(account));
        Assert.Equal(0, host.Endpoint.RequestCount);
    }

    [Theory]
    [InlineData("signin", null)]
    [InlineData("device", null)]
    [InlineData("paste", null)]
    [InlineData("forget", null)]
    [InlineData("signin", "not-a-token")]
    [InlineData("device", "not-a-token")]
    [InlineData("forget", "not-a-token")]
    public async Task Action_WithoutThePagesToken_Returns400PageAndChangesNothing(string action, string? token)
    {
        var account = DeviceAccount();
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);
        GiveDeviceCodes(host);
        // The cookie half is there (the page was loaded); the form's half is missing or forged.
        _ = await PageForms.TokenAsync(host);

        using var response = await PageForms.PostAsync(host, $"{Path}/{action}", token, ("address", "http://127.0.0.1:18089/?code=c&state=s"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<h1>This form has expired</h1>", body, StringComparison.Ordinal);
        Assert.Null(host.SignIns.Current(account));
        Assert.Equal(0, host.Endpoint.RequestCount);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name is "SignInNeeded" or "DeviceCodeSignInNeeded" or "TokensForgotten");
    }

    [Fact]
    public async Task Action_TokenWithoutItsCookie_Returns400()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        var token = await PageForms.TokenAsync(host);
        using var stranger = new HttpClient { BaseAddress = host.Http.BaseAddress };
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", token)]);

        using var response = await stranger.PostAsync(new Uri($"{Path}/signin", UriKind.Relative), form).Guarded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }

    [Theory]
    [MemberData(nameof(ActionNames))]
    public async Task Action_UnknownAccount_Returns404PageAndStartsNothing(string action)
    {
        var account = DeviceAccount();
        await using var host = await WebEndpointsHost.StartAsync(account);
        GiveDeviceCodes(host);

        using var response = await PageForms.PostAsync(host, $"/accounts/{Uri.EscapeDataString("<b>nobody")}/{action}", await PageForms.TokenAsync(host), ("address", "x"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("[account &lt;b&gt;nobody]", body, StringComparison.Ordinal);
        Assert.Equal(0, host.Endpoint.RequestCount);
        Assert.Null(host.SignIns.Current(account));
    }

    [Theory]
    [MemberData(nameof(ActionNames))]
    public async Task Action_Get_StartsOrForgetsNothing(string action)
    {
        var account = DeviceAccount();
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);
        GiveDeviceCodes(host);

        using var response = await host.Http.GetAsync(new Uri($"{Path}/{action}", UriKind.Relative)).Guarded();

        Assert.NotEqual(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Null(host.SignIns.Current(account));
        Assert.Equal(0, host.Endpoint.RequestCount);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }

    [Fact]
    public async Task Action_HugeBody_Returns413PageAndChangesNothing()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);

        using var response = await PageForms.PostAsync(host, $"{Path}/forget", await PageForms.TokenAsync(host), ("address", new string('a', 200_000)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("<h1>Too large</h1>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }

    [Fact]
    public async Task Action_HugeChunkedBody_Returns413PageAndChangesNothing()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(account);
        await SeedTokensAsync(host, account);
        var token = await PageForms.TokenAsync(host);
        using var content = new StreamContent(new MemoryStream(System.Text.Encoding.ASCII.GetBytes($"__csrf={Uri.EscapeDataString(token)}&address={new string('a', 200_000)}")));
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{Path}/forget", UriKind.Relative)) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True((await host.Tokens.SnapshotAsync(account, CancellationToken.None).Guarded()).SignedIn);
    }

    public static TheoryData<string> ActionNames => [.. Actions];
}
