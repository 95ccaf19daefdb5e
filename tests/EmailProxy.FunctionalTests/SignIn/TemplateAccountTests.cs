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

    [GeneratedRegex("<code id=\"generated-password\">([a-z2-9]{20})</code>")]
    private static partial Regex PasswordPattern();
}
