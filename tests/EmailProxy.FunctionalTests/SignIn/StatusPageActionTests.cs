using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// The status page's buttons against the real proxy: show a device code and see it signed in through
/// <c>/status.json</c> (what the page's script polls), forget the tokens, and a failed login's error with its fix.
/// Each press is a POST carrying the page's anti-forgery field and cookie, as a browser's.
/// </summary>
public sealed partial class StatusPageActionTests
{
    private const string Password = "any-Pa55word";

    private static HttpClient Browser(TestEnvironment env) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false, CookieContainer = new CookieContainer() }) { Timeout = env.SafetyTimeout };

    private static async Task<HttpResponseMessage> PressAsync(HttpClient browser, TestEnvironment env, string action)
    {
        var page = await browser.GetStringAsync(new Uri(env.RedirectUri + "/"));
        var token = WebUtility.HtmlDecode(TokenPattern().Match(page).Groups[1].Value);
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", token)]);
        return await browser.PostAsync(new Uri($"{env.RedirectUri}/accounts/{Uri.EscapeDataString(TestEnvironment.Account)}/{action}"), form);
    }

    private static async Task<JsonElement> AccountJsonAsync(HttpClient browser, TestEnvironment env)
    {
        using var json = JsonDocument.Parse(await browser.GetStringAsync(new Uri(env.RedirectUri + "/status.json")));
        return json.RootElement.GetProperty("accounts")[0].Clone();
    }

    [Fact]
    public async Task ShowDeviceCode_ApprovedByThePerson_StatusJsonTurnsToSignedIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append: "flow = device_code\n");
        var proxy = await env.StartProxyAsync();
        using var browser = Browser(env);

        using var pressed = await PressAsync(browser, env, "device");
        Assert.Equal(HttpStatusCode.SeeOther, pressed.StatusCode);
        Assert.Equal("/#account-1", pressed.Headers.Location?.OriginalString);
        var code = env.Identity.IssuedUserCodes.Single();
        var page = await browser.GetStringAsync(new Uri(env.RedirectUri + "/"));
        Assert.Contains($"data-field=\"user-code\">{code}</p>", page, StringComparison.Ordinal);
        var pending = await AccountJsonAsync(browser, env);
        Assert.Equal(code, pending.GetProperty("user_code").GetString());
        Assert.StartsWith("Signing in with a device code", pending.GetProperty("state").GetString(), StringComparison.Ordinal);

        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));

        var done = await AccountJsonAsync(browser, env);
        Assert.True(done.GetProperty("signed_in").GetBoolean());
        Assert.StartsWith("Signed in", done.GetProperty("state").GetString(), StringComparison.Ordinal);
        Assert.False(done.TryGetProperty("user_code", out _));
    }

    [Fact]
    public async Task ForgetTokens_SignedInAccount_NextLoginNeedsASignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        using var browser = Browser(env);

        using var pressed = await PressAsync(browser, env, "forget");

        Assert.Equal(HttpStatusCode.SeeOther, pressed.StatusCode);
        Assert.Equal("/#account-1", pressed.Headers.Location?.OriginalString);
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} {Password}\r\n");
        Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        Assert.StartsWith("Needs a sign-in", (await AccountJsonAsync(browser, env)).GetProperty("state").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusPage_AfterAFailedLogin_ShowsTheErrorAndTheFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig();
        await env.StartProxyAsync();
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} {Password}\r\n");
            Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        using var browser = Browser(env);

        var page = WebUtility.HtmlDecode(await browser.GetStringAsync(new Uri(env.RedirectUri + "/")));

        Assert.Contains("data-field=\"last-error\">IMAP login: Account user@example.com needs an OAuth2 sign-in", page, StringComparison.Ordinal);
        Assert.Contains("data-field=\"fix\"><strong>What to do:</strong> Press \"Sign in\" below", page, StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
