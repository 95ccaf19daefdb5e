using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// Issue 17 item 5 through the real proxy: <c>[account *@example.org]</c> makes an account for a login name at its
/// first login, whose browser sign-in (the fake identity server) ends on a page showing a generated password once;
/// from then on that password, and only it, opens the account, also after a restart (the account is made again
/// from its token file). A second user of the template who signs in as the first is refused by the identity check.
/// </summary>
public sealed partial class TemplateAccountTests
{
    private const string Alice = "alice@example.org";
    private const string Bob = "bob@example.org";

    private static string Template(TestEnvironment env) => $"""

        [account *@example.org]
        client_id = {env.Identity.ClientId}
        tenant = {env.Identity.Tenant}
        authority = {env.Identity.Authority}
        server = fake
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access

        """;

    [Fact]
    public async Task Login_TemplateAccount_MadeSignedInShownItsPasswordOnceAndNeedsItFromThenOn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(Template(env));
        var proxy = await env.StartProxyAsync();

        // Before its first sign-in any password only starts the sign-in.
        var first = await LoginAsync(env, Alice, "anything");
        Assert.StartsWith($"a1 NO [AUTHENTICATIONFAILED] Account {Alice} needs an OAuth2 sign-in with Microsoft (its first sign-in, whose last page shows the password", first, StringComparison.Ordinal);
        Assert.Contains($"{env.RedirectUri}/accounts/alice%40example.org/signin", first, StringComparison.Ordinal);
        Assert.Equal(0, env.Imap.SuccessfulAuthentications);

        var page = WebUtility.HtmlDecode(await env.SignInFromStatusPageAsync(Alice));
        Assert.Contains($"Account {Alice} is signed in with Microsoft as {Alice}", page, StringComparison.Ordinal);
        var password = PasswordPattern().Match(page);
        Assert.True(password.Success, page);
        var generated = password.Groups[1].Value;
        var tokenFile = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        Assert.DoesNotContain(generated, await File.ReadAllTextAsync(tokenFile), StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Output, line => line.Contains(generated, StringComparison.Ordinal));

        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Wrong login name or password", await LoginAsync(env, Alice, "anything"), StringComparison.Ordinal);
        Assert.StartsWith("a1 OK", await LoginAsync(env, Alice, generated), StringComparison.Ordinal);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);

        // A new sign-in keeps the password: nothing is shown again.
        var again = WebUtility.HtmlDecode(await env.SignInFromStatusPageAsync(Alice));
        Assert.Contains("<h1>Signed in</h1>", again, StringComparison.Ordinal);
        Assert.DoesNotMatch(PasswordPattern(), again);
        using (var http = new HttpClient(new HttpClientHandler { UseProxy = false }))
        {
            var status = WebUtility.HtmlDecode(await http.GetStringAsync(new Uri(env.RedirectUri + "/")));
            Assert.Contains($"template [account *@example.org]", status, StringComparison.Ordinal);
            Assert.Contains(Alice, status, StringComparison.Ordinal);
        }

        // After a restart the account is made again from its token file, and its password still opens it.
        await proxy.StopAsync();
        await env.StartProxyAsync();
        Assert.StartsWith("a1 OK", await LoginAsync(env, Alice, generated), StringComparison.Ordinal);
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Wrong login name or password", await LoginAsync(env, Alice, "anything"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_DeviceCodeTemplateAccount_PasswordShownOnceOnTheStatusPageAndOnlyItOpens()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(Template(env).Replace("server = fake\n", "server = fake\nflow = device_code\n", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();

        // The login starts the device code and says where the password will be, for nobody is at a page of the proxy when it ends.
        var first = await LoginAsync(env, Alice, "anything");
        var code = Assert.Single(env.Identity.IssuedUserCodes);
        Assert.Contains($"enter {code} (sign in as {Alice}), then log in again with that password: once the code is entered, the proxy's page {env.RedirectUri}/accounts/alice%40example.org/signin shows it, once", first, StringComparison.Ordinal);
        env.Identity.ApproveDeviceCode(code, Alice);
        await proxy.WaitForLineAsync(l => l.Contains($"OAuth2 sign-in of account {Alice} with Microsoft succeeded", StringComparison.Ordinal));

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false, CookieContainer = new CookieContainer() }) { Timeout = env.SafetyTimeout };
        var status = WebUtility.HtmlDecode(await browser.GetStringAsync(new Uri(env.RedirectUri + "/")));
        Assert.Contains("its generated password has not been shown yet", status, StringComparison.Ordinal);
        Assert.Contains("<form method=\"post\" class=\"password\" action=\"/accounts/alice%40example.org/password\"><input", status, StringComparison.Ordinal);
        Assert.Contains("\"password_waiting\":true", await browser.GetStringAsync(new Uri(env.RedirectUri + "/status.json")), StringComparison.Ordinal);
        // The page the login's text names offers it too.
        Assert.Contains("class=\"password\" action=\"/accounts/alice%40example.org/password\"><input",
            await browser.GetStringAsync(new Uri(env.RedirectUri + "/accounts/alice%40example.org/signin")), StringComparison.Ordinal);

        using var shown = await PressAsync(browser, env, Alice, "password");
        var page = await shown.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        var password = PasswordPattern().Match(page);
        Assert.True(password.Success, page);
        var generated = password.Groups[1].Value;
        using var again = await PressAsync(browser, env, Alice, "password");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.DoesNotMatch(PasswordPattern(), await again.Content.ReadAsStringAsync());
        Assert.DoesNotContain("class=\"password\" action=\"/accounts/alice%40example.org/password\"><", await browser.GetStringAsync(new Uri(env.RedirectUri + "/")), StringComparison.Ordinal);

        // The right one first: after a failure the login throttle makes the next check wait its turn.
        Assert.StartsWith("a1 OK", await LoginAsync(env, Alice, generated), StringComparison.Ordinal);
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Wrong login name or password", await LoginAsync(env, Alice, "anything"), StringComparison.Ordinal);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        Assert.Contains(proxy.Output, line => line.Contains($"The generated password of account {Alice} was shown on the status page", StringComparison.Ordinal));
        Assert.DoesNotContain(proxy.Output, line => line.Contains(generated, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignIn_SecondUserOfTheTemplateSignsInAsTheFirst_RefusedAndNothingKept()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(Template(env));
        await env.StartProxyAsync();
        env.Identity.SignInAsNext(Alice);

        Assert.Contains("needs an OAuth2 sign-in", await LoginAsync(env, Bob, "anything"), StringComparison.Ordinal);
        var page = WebUtility.HtmlDecode(await env.SignInFromStatusPageAsync(Bob));

        Assert.Contains("Sign-in failed", page, StringComparison.Ordinal);
        Assert.Contains($"signed in as {Alice}, but this account is {Bob}", page, StringComparison.Ordinal);
        Assert.DoesNotMatch(PasswordPattern(), page);
        Assert.Empty(Directory.Exists(env.TokenDirectory) ? Directory.GetFiles(env.TokenDirectory, "*.json") : []);
        Assert.Contains("needs an OAuth2 sign-in", await LoginAsync(env, Bob, "anything"), StringComparison.Ordinal);
        Assert.Equal(0, env.Imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Login_NameTheTemplateMatchesButNoFileMayHave_RefusedAndNothingMade()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(Template(env).Replace("*@example.org", "*example.org", StringComparison.Ordinal));
        await env.StartProxyAsync();

        var answer = await LoginAsync(env, "\"../x@example.org\"", "anything");

        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] The login name '../x@example.org' matches the template [account *example.org] but cannot be an account's name", answer, StringComparison.Ordinal);
        Assert.Empty(env.Identity.AuthorizeRequests);
    }

    /// <summary>One IMAP LOGIN through the proxy; its tagged answer.</summary>
    private static async Task<string> LoginAsync(TestEnvironment env, string login, string password)
    {
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {login} {password}\r\n");
        return await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
    }

    /// <summary>Presses an account's button on the status page: a POST with the page's anti-forgery field and cookie, as a browser's.</summary>
    private static async Task<HttpResponseMessage> PressAsync(HttpClient browser, TestEnvironment env, string account, string action)
    {
        var page = await browser.GetStringAsync(new Uri(env.RedirectUri + "/"));
        var token = WebUtility.HtmlDecode(FormTokenPattern().Match(page).Groups[1].Value);
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", token)]);
        return await browser.PostAsync(new Uri($"{env.RedirectUri}/accounts/{Uri.EscapeDataString(account)}/{action}"), form);
    }

    [GeneratedRegex("<code id=\"generated-password\">([a-z2-9]{20})</code>")]
    private static partial Regex PasswordPattern();

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenPattern();
}
