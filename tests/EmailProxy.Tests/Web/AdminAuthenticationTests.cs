using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Web;

public sealed class AdminAuthenticationTests
{
    private const string Password = "correct horse ünïcode";
    private static readonly string Hash = PasswordVerifier.Hash(Password);
    private static readonly GeneralOptions Protected = new() { AdminPassword = Hash };

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static async Task<HttpResponseMessage> GetAsync(WebEndpointsHost host, string target, AuthenticationHeaderValue? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(target, UriKind.Relative));
        request.Headers.Authorization = authorization;
        return await host.Http.SendAsync(request).Guarded();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/accounts/sales%40example.com/signin")]
    [InlineData("/accounts/nobody/signin")]
    [InlineData("/no/such/page")]
    [InlineData("/?foo=bar")]
    public async Task Request_NoPasswordNotABrowser_Returns401WithoutABasicChallengeAndStartsNothing(string target)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());

        using var response = await GetAsync(host, target);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        // A Basic challenge would make a browser ask for the password and send it, cached, until it is closed.
        Assert.Empty(response.Headers.WwwAuthenticate);
        Assert.DoesNotContain("sales@example.com", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
        // No credentials is how every browser asks first: not a failure worth a log line.
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
    }

    [Theory]
    [InlineData("admin", "wrong")]
    [InlineData("admin", "")]
    [InlineData("", "correct horse")]
    [InlineData("admin", "CORRECT HORSE ÜNÏCODE")]
    public async Task Request_WrongPassword_Returns401AndLogsWithoutThePassword(string user, string password)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());

        using var response = await GetAsync(host, "/accounts/sales%40example.com/signin", Basic(user, password));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "SignInNeeded");
        var logged = Assert.Single(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Equal("A wrong admin_password from 127.0.0.1 for /accounts/sales@example.com/signin", logged.Message);
        Assert.All(host.Log.Lines, line => Assert.DoesNotContain("horse", line, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Request_WrongPassword_CountsAgainstTheClientAddressInTheLoginThrottle()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());

        using var response = await GetAsync(host, "/", Basic("admin", "wrong"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, host.Throttle.TrackedCount);
    }

    [Theory]
    [InlineData("Basic !!!not-base64")]
    [InlineData("Basic bm8tY29sb24=")]
    [InlineData("Bearer abc")]
    [InlineData("Basic")]
    public async Task Request_MalformedAuthorization_Returns401(string header)
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        Assert.True(request.Headers.TryAddWithoutValidation("Authorization", header));

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("")]
    [InlineData("ädmïn")]
    public async Task Request_RightPasswordAnyUser_ServesThePages(string user)
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(Protected, account);

        using var status = await GetAsync(host, "/", Basic(user, Password));
        using var signIn = await GetAsync(host, "/accounts/sales%40example.com/signin", Basic(user, Password));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains("sales@example.com", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal(host.SignIns.StartOrJoin(account).AuthorizeUrl, signIn.Headers.Location);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
    }

    [Fact]
    public async Task Healthz_NoPassword_AnswersOk()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());

        using var response = await GetAsync(host, "/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_WrongPasswordFromAnAddressPastItsLines_NotLoggedAsAWarning()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());
        for (var i = 0; i < FailedLoginLog.LoggedPerMinute; i++)
        {
            host.Failures.Admit(IPAddress.Loopback);
        }

        using var response = await GetAsync(host, "/", Basic("admin", "wrong"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "AdminPasswordWrong");
        Assert.Equal(1, host.Throttle.TrackedCount);
    }

    [Fact]
    public async Task Redirect_UnknownStatesFromOneAddress_WarningsBoundedThenDebug()
    {
        await using var host = await WebEndpointsHost.StartAsync(Protected, TestAccounts.Create());

        for (var i = 0; i < FailedLoginLog.LoggedPerMinute + 5; i++)
        {
            using var unknown = await GetAsync(host, $"/?state=x{i}");
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }

        var logged = host.Log.Entries.Where(e => e.EventId.Name == "SignInStateUnknown").ToList();
        Assert.Equal(FailedLoginLog.LoggedPerMinute, logged.Count(e => e.Level == LogLevel.Warning));
        Assert.Equal(5, logged.Count(e => e.Level == LogLevel.Debug));
    }

    [Fact]
    public async Task Redirect_ProviderReturnWithoutPassword_IsServed()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(Protected, account);
        var state = host.SignIns.StartOrJoin(account).State;

        using var unknown = await GetAsync(host, "/?state=not-a-state&code=the-code");
        using var denied = await GetAsync(host, $"/?state={Uri.EscapeDataString(state)}&error=access_denied");

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("Sign-in failed", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, denied.StatusCode);
        Assert.Contains("access_denied", await denied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirect_OnItsOwnPath_OnlyTheReturnIsOpen()
    {
        var general = Protected with { RedirectUri = new Uri("http://127.0.0.1:18089/callback") };
        await using var host = await WebEndpointsHost.StartAsync(general, TestAccounts.Create());

        using var returned = await GetAsync(host, "/callback?state=not-a-state&code=c");
        using var bare = await GetAsync(host, "/callback");
        using var status = await GetAsync(host, "/?state=not-a-state&code=c");

        Assert.Equal(HttpStatusCode.BadRequest, returned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
    }

    [Fact]
    public async Task Request_NoAdminPassword_ServesWithoutAsking()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await GetAsync(host, "/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
