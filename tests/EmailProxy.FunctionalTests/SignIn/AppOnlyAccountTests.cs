using System.Net;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// An app-only account (<c>flow = client_credentials</c>) seen by the operator: <c>emailproxy auth</c> says in one line
/// that no person signs it in (with or without a running proxy), and after a login <c>tokens show</c> and the status
/// page describe the app token (its expiry, no identity), never "needs a sign-in".
/// </summary>
public sealed class AppOnlyAccountTests
{
    private const string Secret = "app-secret-VALUE";

    private static async Task<TestEnvironment> CreateAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        env.Identity.GrantAppMailbox(TestEnvironment.Account);
        env.WriteConfig(transform: text => text.Replace(
            "scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            $"flow = client_credentials\nclient_secret = {Secret}\n",
            StringComparison.Ordinal));
        return env;
    }

    private static ProxyProcess Command(TestEnvironment env, params string[] arguments)
    {
        var process = env.CreateProxy(extraArguments: arguments);
        process.Launch();
        return process;
    }

    private static async Task AssertAuthRefusedAsync(TestEnvironment env)
    {
        var auth = Command(env, "auth", TestEnvironment.Account);

        Assert.Equal(1, await auth.WaitForExitAsync());
        var error = Assert.Single(auth.Output);
        Assert.StartsWith("emailproxy: ", error, StringComparison.Ordinal);
        Assert.Contains("app-only", error, StringComparison.Ordinal);
        Assert.Contains("needs no sign-in", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, auth.Describe(), StringComparison.Ordinal);
        Assert.Empty(env.Identity.TokenRequests);
        Assert.Empty(env.Identity.IssuedUserCodes);
        Assert.Empty(env.Identity.AuthorizeRequests);
    }

    [Fact]
    public async Task Auth_AppOnlyAccountNoProxy_OneLineExitFailureAndNothingStored()
    {
        await using var env = await CreateAsync();

        await AssertAuthRefusedAsync(env);

        Assert.False(Directory.Exists(env.TokenDirectory) && Directory.GetFiles(env.TokenDirectory, "*.json").Length > 0);
    }

    [Fact]
    public async Task Auth_AppOnlyAccountProxyRunning_OneLineExitFailureAndTheProxyAskedNothing()
    {
        await using var env = await CreateAsync();
        var proxy = await env.StartProxyAsync();

        await AssertAuthRefusedAsync(env);

        Assert.DoesNotContain(proxy.Output, l => l.Contains("OAuth2 sign-in needed", StringComparison.Ordinal));
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task TokensShowAndStatusPage_AppOnlyAccountAfterALogin_ShowTheAppTokenAndNoIdentityOrSignIn()
    {
        await using var env = await CreateAsync();
        await env.StartProxyAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = env.SafetyTimeout };
        var before = WebUtility.HtmlDecode(await http.GetStringAsync(new Uri(env.RedirectUri + "/")));
        Assert.Contains("App-only (client credentials): a token is fetched at the first login", before, StringComparison.Ordinal);

        await using (var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
        }

        var show = Command(env, "tokens", "show", TestEnvironment.Account);
        Assert.True(await show.WaitForExitAsync() == 0, show.Describe());
        Assert.Contains(show.Output, l => l.Trim() == "flow:           client_credentials");
        Assert.Contains(show.Output, l => l.Trim().StartsWith("access token:   expires ", StringComparison.Ordinal));
        Assert.DoesNotContain(show.Output, l => l.Trim().StartsWith("identity:", StringComparison.Ordinal));
        Assert.DoesNotContain(show.Output, l => l.Contains("needs sign-in", StringComparison.Ordinal));
        var json = Command(env, "tokens", "show", TestEnvironment.Account, "--json");
        Assert.True(await json.WaitForExitAsync() == 0, json.Describe());
        var text = string.Join('\n', json.Output);
        Assert.Contains("\"access_token_expires\": ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"identity\": \"", text, StringComparison.Ordinal);
        foreach (var process in (ProxyProcess[])[show, json])
        {
            Assert.DoesNotContain(Secret, process.Describe(), StringComparison.Ordinal);
            Assert.DoesNotContain("fake-app-at-", process.Describe(), StringComparison.Ordinal);
        }

        var after = WebUtility.HtmlDecode(await http.GetStringAsync(new Uri(env.RedirectUri + "/")));
        Assert.Contains("App-only (client credentials): access token expires ", after, StringComparison.Ordinal);
        Assert.DoesNotContain("Needs a sign-in", after, StringComparison.Ordinal);
        Assert.DoesNotContain(">Sign in<", after, StringComparison.Ordinal);
    }
}
