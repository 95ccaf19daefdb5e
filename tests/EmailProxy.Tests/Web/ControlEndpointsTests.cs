using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Tests.Web;

public sealed class ControlEndpointsTests
{
    private const string SignInPath = "/api/accounts/sales%40example.com/signin";

    private static HttpRequestMessage Request(HttpMethod method, string target, string? bearer, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, new Uri(target, UriKind.Relative)) { Content = content };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return request;
    }

    private static async Task<HttpResponseMessage> SendAsync(WebEndpointsHost host, HttpMethod method, string target, string? bearer, HttpContent? content = null)
    {
        using var request = Request(method, target, bearer, content);
        return await host.Http.SendAsync(request).Guarded();
    }

    private static DefaultHttpContext Context(string remote, string? authorization)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }
        return context;
    }

    [Theory]
    [InlineData("127.0.0.1", "Bearer right-token", StatusCodes.Status200OK)]
    [InlineData("::1", "Bearer right-token", StatusCodes.Status200OK)]
    [InlineData("::ffff:127.0.0.1", "bearer right-token", StatusCodes.Status200OK)]
    [InlineData("127.0.0.1", null, StatusCodes.Status401Unauthorized)]
    [InlineData("127.0.0.1", "Bearer wrong-token", StatusCodes.Status401Unauthorized)]
    [InlineData("127.0.0.1", "Bearer right-toke", StatusCodes.Status401Unauthorized)]
    [InlineData("127.0.0.1", "Basic right-token", StatusCodes.Status401Unauthorized)]
    [InlineData("192.0.2.7", "Bearer right-token", StatusCodes.Status403Forbidden)]
    [InlineData("::ffff:192.0.2.7", "Bearer right-token", StatusCodes.Status403Forbidden)]
    public void Authorize_AddressAndToken_OnlyLoopbackWithTheTokenPasses(string remote, string? authorization, int expected)
    {
        var token = new ControlToken("/nonexistent/control.token", "right-token");

        Assert.Equal(expected, ControlEndpoints.Authorize(Context(remote, authorization), token));
    }

    [Fact]
    public void Authorize_NoTokenWritten_Forbidden()
    {
        Assert.Equal(StatusCodes.Status403Forbidden, ControlEndpoints.Authorize(Context("127.0.0.1", "Bearer anything"), null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    public async Task SignIn_WithoutTheToken_401WithoutDetailAndStartsNothing(string? bearer)
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await SendAsync(host, HttpMethod.Post, SignInPath, bearer);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        Assert.Null(host.SignIns.Current(host.Config.FindAccount("sales@example.com")!));
    }

    [Theory]
    [InlineData("/api/accounts/sales%40example.com/forget")]
    [InlineData("/API/accounts/sales%40example.com/forget")]
    [InlineData("/Api/accounts/sales%40example.com/forget")]
    [InlineData("/api//accounts/sales%40example.com/forget")]
    public async Task Forget_WithoutTheToken_401AndForgetsNothing(string path)
    {
        // Routing matches literal segments whatever their case: every spelling meets the check.
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await SendAsync(host, HttpMethod.Post, path, null);

        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Name == "TokensForgotten");
    }

    [Fact]
    public async Task SignInAndPaste_WithTheToken_CompletesAndTheOutcomeIsReadable()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        var bearer = host.ControlToken.Value;

        using var started = await SendAsync(host, HttpMethod.Post, SignInPath, bearer,
            JsonContent.Create(new ControlSignInRequest("browser"), ControlJsonContext.Default.ControlSignInRequest));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var signIn = (await started.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInStarted))!;
        Assert.Equal("browser", signIn.Method);
        Assert.Equal("sales@example.com", signIn.Account);
        var pending = host.SignIns.Current(host.Config.FindAccount("sales@example.com")!)!;
        Assert.Equal(pending.AuthorizeUrl!.AbsoluteUri, signIn.AuthorizeUrl);

        using var waiting = await SendAsync(host, HttpMethod.Get, $"/api/signins/{signIn.Id}", bearer);
        Assert.Equal(ControlSignInState.Pending, (await waiting.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInState))!.State);

        using var pasted = await SendAsync(host, HttpMethod.Post, $"/api/signins/{signIn.Id}/paste", bearer,
            JsonContent.Create(new ControlPasteRequest($"http://127.0.0.1:18089/?code=the-code&state={pending.State}"), ControlJsonContext.Default.ControlPasteRequest));
        var outcome = (await pasted.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInState))!;
        Assert.Equal(ControlSignInState.Succeeded, outcome.State);
        Assert.Equal("the-code", Assert.Single(host.Endpoint.Forms)["code"]);

        using var done = await SendAsync(host, HttpMethod.Get, $"/api/signins/{signIn.Id}", bearer);
        Assert.Equal(ControlSignInState.Succeeded, (await done.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInState))!.State);
        Assert.Equal(TokenOutcomeKind.Token, (await host.Tokens.GetAccessTokenAsync(host.Config.FindAccount("sales@example.com")!, CancellationToken.None).Guarded()).Kind);
    }

    [Fact]
    public async Task SignIn_TwiceForOneAccount_SameId()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var first = await SendAsync(host, HttpMethod.Post, SignInPath, host.ControlToken.Value);
        using var second = await SendAsync(host, HttpMethod.Post, SignInPath, host.ControlToken.Value);

        Assert.Equal(
            (await first.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInStarted))!.Id,
            (await second.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInStarted))!.Id);
    }

    [Fact]
    public async Task SignIn_ClientCredentialsAccount_409AppOnly()
    {
        var account = TestAccounts.Create() with { Flow = OAuthFlow.ClientCredentials, ClientSecret = "s3cret-value" };
        await using var host = await WebEndpointsHost.StartAsync(account);

        using var response = await SendAsync(host, HttpMethod.Post, SignInPath, host.ControlToken.Value);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlError))!;
        Assert.Contains("app-only accounts need no sign-in", error.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-value", error.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_UnknownAccount_404()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());

        using var response = await SendAsync(host, HttpMethod.Post, "/api/accounts/nobody%40example.com/signin", host.ControlToken.Value);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("nobody@example.com", (await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlError))!.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forget_WithTheToken_ForgetsAndTheNextLoginNeedsASignIn()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        var account = host.Config.FindAccount("sales@example.com")!;
        var pending = host.SignIns.StartOrJoin(account);
        Assert.True((await host.SignIns.CompleteAsync(pending.State, "the-code", null, null).Guarded()).Succeeded);

        using var response = await SendAsync(host, HttpMethod.Post, "/api/accounts/sales%40example.com/forget", host.ControlToken.Value);

        Assert.True((await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlForgetResult))!.Forgotten);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await host.Tokens.GetAccessTokenAsync(account, CancellationToken.None).Guarded()).Kind);
    }

    [Fact]
    public async Task SignIn_AdminPasswordSet_TheBearerTokenIsEnoughAndNoBasicIsAsked()
    {
        await using var host = await WebEndpointsHost.StartAsync(new GeneralOptions { AdminPassword = PasswordVerifier.Hash("admin-pw") }, TestAccounts.Create());

        using var response = await SendAsync(host, HttpMethod.Post, SignInPath, host.ControlToken.Value);
        using var refused = await SendAsync(host, HttpMethod.Post, SignInPath, null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Empty(refused.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task SignIn_ForeignHostHeader_421EvenWithTheToken()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var request = Request(HttpMethod.Post, SignInPath, host.ControlToken.Value);
        request.Headers.Host = "evil.example";

        using var response = await host.Http.SendAsync(request).Guarded();

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
    }

    [Fact]
    public async Task Paste_WrongState_FailedAndTheSignInStaysPending()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var started = await SendAsync(host, HttpMethod.Post, SignInPath, host.ControlToken.Value);
        var id = (await started.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInStarted))!.Id;

        using var pasted = await SendAsync(host, HttpMethod.Post, $"/api/signins/{id}/paste", host.ControlToken.Value,
            JsonContent.Create(new ControlPasteRequest("http://127.0.0.1:18089/?code=c&state=wrong"), ControlJsonContext.Default.ControlPasteRequest));
        using var status = await SendAsync(host, HttpMethod.Get, $"/api/signins/{id}", host.ControlToken.Value);

        Assert.Equal(ControlSignInState.Failed, (await pasted.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInState))!.State);
        Assert.Equal(ControlSignInState.Pending, (await status.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlSignInState))!.State);
        Assert.Equal(0, host.Endpoint.RequestCount);
    }
}
