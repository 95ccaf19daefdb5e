using System.Net;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Web;

/// <summary>With <c>local_server_auth = false</c> only the pasted address completes a sign-in: the redirect path says where to paste it.</summary>
public sealed class PasteBackRedirectTests
{
    private static readonly GeneralOptions PasteBack = new() { LocalServerAuth = false };

    [Fact]
    public async Task Redirect_LocalServerAuthOff_PageSaysWhereToPasteAndCompletesNothing()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(PasteBack, account);
        var pending = host.SignIns.StartOrJoin(account, SignInMethod.Browser);

        using var response = await host.Http.GetAsync(new Uri($"/?state={Uri.EscapeDataString(pending.State)}&code=the-code", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<h1>Paste this address</h1>", body, StringComparison.Ordinal);
        Assert.Contains("`emailproxy auth sales@example.com`", body, StringComparison.Ordinal);
        Assert.False(pending.Completion.IsCompleted);
        Assert.Same(pending, host.SignIns.Current(account));
        Assert.DoesNotContain(host.Log.Entries, e => e.EventId.Id is 2002 or 2003);
    }

    [Fact]
    public async Task Redirect_LocalServerAuthOffUnknownState_NamesNoAccount()
    {
        await using var host = await WebEndpointsHost.StartAsync(PasteBack, TestAccounts.Create());

        using var response = await host.Http.GetAsync(new Uri("/?state=not-a-state&code=the-code", UriKind.Relative)).Guarded();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("`emailproxy auth ACCOUNT`", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_LocalServerAuthOff_StillRedirectsToTheProvider()
    {
        var account = TestAccounts.Create();
        await using var host = await WebEndpointsHost.StartAsync(PasteBack, account);

        using var response = await PageForms.PostAsync(host, $"/accounts/{Uri.EscapeDataString(account.Name)}/signin", await PageForms.TokenAsync(host));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(host.SignIns.Current(account)!.AuthorizeUrl, response.Headers.Location);
    }
}
