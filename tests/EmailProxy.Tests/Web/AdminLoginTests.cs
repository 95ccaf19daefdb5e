using System.Net;
using System.Security.Claims;
using System.Text.RegularExpressions;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Web;

/// <summary>The admin login form and its session cookie (<see cref="AdminLogin"/>), and who is sent where without it.</summary>
public sealed partial class AdminLoginTests
{
    private const string Password = "correct horse ünïcode";
    private static readonly string Hash = PasswordVerifier.Hash(Password);
    private static readonly GeneralOptions Protected = new() { AdminPassword = Hash };

    /// <summary>A browser of its own: its own cookies, redirects not followed, and an Accept header that asks for HTML.</summary>
    private static HttpClient Browser(WebEndpointsHost host, CookieContainer? cookies = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer() })
        {
            BaseAddress = host.Http.BaseAddress,
        };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        return client;
    }

    private static Uri Relative(string target) => new(target, UriKind.Relative);

    /// <summary>The anti-forgery token of the form on <paramref name="target"/> (a GET, which also sets its cookie).</summary>
    private static async Task<string> FormTokenAsync(HttpClient browser, string target = AdminLogin.LoginPath)
    {
        var page = await browser.GetStringAsync(Relative(target)).Guarded();
        return WebUtility.HtmlDecode(CsrfField().Match(page).Groups[1].Value);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient browser, string target, params (string Name, string Value)[] fields)
    {
        using var content = new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));
        return await browser.PostAsync(Relative(target), content).Guarded();
    }

    /// <summary>Loads the login form and posts <paramref name="password"/> with its token, as a person does.</summary>
    private static async Task<HttpResponseMessage> LogInAsync(HttpClient browser, string password, string returnPath = "/")
    {
        var token = await FormTokenAsync(browser);
        return await PostAsync(browser, AdminLogin.LoginPath,
            (AntiforgeryCheck.FormFieldName, token), (AdminLogin.PasswordField, password), (AdminLogin.ReturnField, returnPath));
    }

    private static string? AdminCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.FirstOrDefault(v => v.StartsWith(AdminLogin.CookieName + "=", StringComparison.Ordinal))
            : null;

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [Fact]
    public async Task LoginPage_Get_ShowsALabelledPasswordFieldWithTheFormTokenAndReturnPath()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative("/login?return=%2Faccounts%2Fsales%2540example.com%2Fsignin")).Guarded();
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<label for=\"admin-password\">Admin password</label>", page, StringComparison.Ordinal);
        Assert.Contains("id=\"admin-password\" type=\"password\" name=\"password\"", page, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\">Log in</button>", page, StringComparison.Ordinal);
        Assert.Contains("name=\"return\" value=\"/accounts/sales%40example.com/signin\"", page, StringComparison.Ordinal);
        Assert.Matches(CsrfField(), page);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AntiforgeryCheck.CookieName, StringComparison.Ordinal));
        Assert.DoesNotContain("sales@example.com", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_RightPassword_SetsAStrictHttpOnlySessionCookieAndGoesBackToTheReturnPath()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var login = await LogInAsync(browser, Password, "/?from=login");
        using var status = await browser.GetAsync(Relative("/")).Guarded();

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/?from=login", login.Headers.Location?.OriginalString);
        var cookie = AdminCookie(login);
        Assert.NotNull(cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        // A session cookie (gone when the browser closes); plain HTTP here, so not Secure.
        Assert.DoesNotContain("expires=", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie.Replace("httponly", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains("sales@example.com", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(host.Log.Entries, e => e.EventId.Name == "AdminLoggedIn" && e.Message == "The admin logged in from 127.0.0.1");
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
    }

    [Fact]
    public async Task Login_WrongPassword_Returns401PageWithAnAlertAndLogsWithoutThePassword()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var login = await LogInAsync(browser, "correct horse", "/accounts/x/signin");
        var page = await login.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Contains("<p role=\"alert\" class=\"error\">Wrong password</p>", page, StringComparison.Ordinal);
        // The form again, to try once more, still going back to the same place.
        Assert.Contains("name=\"return\" value=\"/accounts/x/signin\"", page, StringComparison.Ordinal);
        Assert.Matches(CsrfField(), page);
        Assert.Null(AdminCookie(login));
        Assert.False(login.Headers.Contains("WWW-Authenticate"));
        var logged = Assert.Single(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Equal(6001, logged.EventId.Id);
        Assert.Equal("A wrong admin_password from 127.0.0.1 for /login", logged.Message);
        Assert.All(host.Log.Lines, line => Assert.DoesNotContain("horse", line, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1, host.Throttle.TrackedCount);
        using var status = await browser.GetAsync(Relative("/")).Guarded();
        Assert.Equal(HttpStatusCode.SeeOther, status.StatusCode);
    }

    [Fact]
    public async Task Login_WithoutTheFormToken_Returns400AndChecksNoPassword()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);
        await FormTokenAsync(browser);

        using var login = await PostAsync(browser, AdminLogin.LoginPath, (AdminLogin.PasswordField, Password));

        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.Contains("This form has expired", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(AdminCookie(login));
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "AdminLoggedIn");
    }

    [Theory]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("https://evil.example/")]
    [InlineData("evil.example")]
    [InlineData("/\t/evil.example")]
    [InlineData("/\n/evil.example")]
    [InlineData(" //evil.example")]
    [InlineData("/ü")]
    [InlineData("")]
    public async Task Login_ReturnPathNotALocalPath_GoesToTheStatusPage(string returnPath)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var form = await browser.GetAsync(Relative($"/login?return={Uri.EscapeDataString(returnPath)}")).Guarded();
        using var login = await LogInAsync(browser, Password, returnPath);

        Assert.Contains("name=\"return\" value=\"/\"", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/", "/login")]
    [InlineData("/accounts/sales%40example.com/signin", "/login?return=%2Faccounts%2Fsales%2540example.com%2Fsignin")]
    [InlineData("/?x=1", "/login?return=%2F%3Fx%3D1")]
    [InlineData("/no/such/page", "/login?return=%2Fno%2Fsuch%2Fpage")]
    public async Task Request_BrowserPageWithoutLogin_RedirectsToTheLoginFormAndStartsNothing(string target, string location)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative(target)).Guarded();

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
        Assert.False(response.Headers.Contains("WWW-Authenticate"));
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
    }

    [Fact]
    public async Task Request_BrowserFollowsTheRedirectAndLogsIn_LandsWhereItWasGoing()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var first = await browser.GetAsync(Relative("/?x=1")).Guarded();
        var loginPage = first.Headers.Location!.OriginalString;
        var token = await FormTokenAsync(browser, loginPage);
        var returnPath = Regex.Match(await browser.GetStringAsync(Relative(loginPage)).Guarded(), "name=\"return\" value=\"([^\"]*)\"").Groups[1].Value;
        using var login = await PostAsync(browser, AdminLogin.LoginPath,
            (AntiforgeryCheck.FormFieldName, token), (AdminLogin.PasswordField, Password), (AdminLogin.ReturnField, WebUtility.HtmlDecode(returnPath)));

        Assert.Equal("/?x=1", login.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("GET", "/status.json", false)]
    [InlineData("GET", "/metrics", false)]
    [InlineData("GET", "/", false)]
    [InlineData("POST", "/accounts/sales%40example.com/forget", true)]
    [InlineData("POST", "/", true)]
    public async Task Request_NotABrowserPageWithoutLogin_Returns401WithoutABasicChallenge(string method, string target, bool acceptsHtml)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var request = new HttpRequestMessage(new HttpMethod(method), Relative(target));
        if (acceptsHtml)
        {
            request.Headers.Accept.ParseAdd("text/html");
        }

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(response.Headers.WwwAuthenticate);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(acceptsHtml ? "<a href=\"/login\">Log in</a>" : "log in at /login in a browser, or send it with HTTP Basic", body, StringComparison.Ordinal);
        Assert.DoesNotContain("sales@example.com", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/healthz", 200)]
    [InlineData("/static/status.css", 200)]
    [InlineData("/static/status.js", 200)]
    [InlineData("/login", 200)]
    public async Task Request_OpenPathWithoutLogin_IsServed(string target, int status)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative(target)).Guarded();

        Assert.Equal(status, (int)response.StatusCode);
    }

    [Fact]
    public async Task Request_ReadyzWithoutLogin_AnswersReadyOrWhatIsNot()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative("/readyz")).Guarded();

        // The test host binds no mail listener: ready or not, it is /readyz that answers, not the login.
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, response.StatusCode.ToString());
        Assert.DoesNotContain("/login", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/Static/status.css")]
    [InlineData("/STATIC/status.css")]
    [InlineData("/readyz/")]
    [InlineData("/Healthz")]
    [InlineData("/healthz/")]
    [InlineData("/%2Fstatic/status.css")]
    public async Task Request_VariantOfAnOpenPath_StillNeedsTheLogin(string target)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative(target)).Guarded();

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.StartsWith("/login?return=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_WithTheFormToken_EndsTheLogin()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);
        using var login = await LogInAsync(browser, Password);
        // The login page's Log out form while logged in: its token is made for the logged-in user.
        var token = await FormTokenAsync(browser, AdminLogin.LoginPath);

        using var logout = await PostAsync(browser, AdminLogin.LogoutPath, (AntiforgeryCheck.FormFieldName, token));
        using var after = await browser.GetAsync(Relative("/")).Guarded();

        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        Assert.Equal("/login", logout.Headers.Location?.OriginalString);
        Assert.Contains("expires=Thu, 01 Jan 1970", AdminCookie(logout), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.SeeOther, after.StatusCode);
        Assert.StartsWith("/login", after.Headers.Location?.OriginalString, StringComparison.Ordinal);
        Assert.Contains(host.Log.Entries, e => e.EventId.Name == "AdminLoggedOut");
    }

    [Fact]
    public async Task Logout_WithoutTheFormToken_Returns400AndKeepsTheLogin()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);
        using var login = await LogInAsync(browser, Password);

        using var logout = await PostAsync(browser, AdminLogin.LogoutPath);
        using var after = await browser.GetAsync(Relative("/")).Guarded();

        Assert.Equal(HttpStatusCode.BadRequest, logout.StatusCode);
        Assert.Null(AdminCookie(logout));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Request_CookieFromAnotherRun_IsRefused()
    {
        string cookie;
        await using (var first = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create()))
        {
            using var browser = Browser(first);
            using var login = await LogInAsync(browser, Password);
            cookie = AdminCookie(login)!.Split(';')[0];
        }
        await using var second = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/"));
        request.Headers.Add("Cookie", cookie);
        request.Headers.Accept.ParseAdd("text/html");
        using var other = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = second.Http.BaseAddress };

        using var response = await other.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/login", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Request_LoginUnusedForLongerThanItsLifetime_IsRefused()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);
        using var login = await LogInAsync(browser, Password);
        host.Time.Advance(AdminLogin.Lifetime - TimeSpan.FromMinutes(1));
        using var stillIn = await browser.GetAsync(Relative("/")).Guarded();

        host.Time.Advance(AdminLogin.Lifetime + TimeSpan.FromMinutes(1));
        using var expired = await browser.GetAsync(Relative("/")).Guarded();

        Assert.Equal(HttpStatusCode.OK, stillIn.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, expired.StatusCode);
    }

    [Fact]
    public async Task Request_BasicPasswordStillWorks_ForScripts()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/"));
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(":" + Password)));
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(AdminCookie(response));
    }

    [Fact]
    public async Task LoginPage_NoAdminPassword_SaysNoLoginIsNeeded()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var browser = Browser(host);

        using var response = await browser.GetAsync(Relative(AdminLogin.LoginPath)).Guarded();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("This proxy has no admin_password", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_FormLargerThanTheLimit_Returns413PageAndLogsNoOneIn()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var browser = Browser(host);
        var token = await FormTokenAsync(browser);

        using var login = await PostAsync(browser, AdminLogin.LoginPath,
            (AntiforgeryCheck.FormFieldName, token), (AdminLogin.PasswordField, Password), ("padding", new string('x', (int)ListenerLimits.MaxRequestBodyBytes + 1)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, login.StatusCode);
        Assert.Contains("larger than the proxy takes (64 KiB). Nothing was changed.", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(AdminCookie(login));
    }

    [Fact]
    public void LogoutForm_LoggedIn_IsAButtonWithTheFormToken()
    {
        var hash = PasswordVerifier.Hash("admin pass");
        var services = new ServiceCollection().AddLogging();
        WebEndpoints.AddServices(services);
        var live = new LiveConfig(new ProxyConfig("emailproxy.config", new GeneralOptions { AdminPassword = hash },
            new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>()));
        services.AddSingleton(live);
        using var provider = services.BuildServiceProvider();
        var loggedIn = new DefaultHttpContext { RequestServices = provider, User = AdminLogin.PrincipalFor(hash) };
        var basic = new DefaultHttpContext { RequestServices = provider };
        var withAnOldPassword = new DefaultHttpContext { RequestServices = provider, User = AdminLogin.PrincipalFor(PasswordVerifier.Hash("old pass")) };

        var form = AdminLogin.LogoutForm(loggedIn);

        Assert.StartsWith("<form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"__csrf\" value=\"", form, StringComparison.Ordinal);
        Assert.EndsWith("<button type=\"submit\">Log out</button></form>", form, StringComparison.Ordinal);
        Assert.Equal("", AdminLogin.LogoutForm(basic));
        // A cookie made with another admin_password (before a reload changed it) is no login.
        Assert.False(AdminLogin.IsLoggedIn(withAnOldPassword));
    }
}
