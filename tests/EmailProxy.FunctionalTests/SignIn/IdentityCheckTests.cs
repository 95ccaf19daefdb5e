using System.Net;
using System.Text.Json.Nodes;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// Issue 12 item 4 through the real proxy: the browser sign-in asks for openid profile email, the fake identity
/// server says who signed in (id_token, or a JWT access token's upn), and the proxy keeps the tokens only when that
/// is the account's username or one of its allow_identity.
/// </summary>
public sealed class IdentityCheckTests
{
    private const string Bob = "bob@example.com";

    private static readonly string Refusal =
        $"signed in as {Bob}, but this account is {TestEnvironment.Account}: sign in again as {TestEnvironment.Account}, "
        + $"or add `allow_identity = {Bob}` to [account {TestEnvironment.Account}] if bob may use it";

    [Fact]
    public async Task SignIn_AsSomeoneElseThenAsTheUser_RefusedWithNoTokenThenAccepted()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        env.Identity.SignInAsNext(Bob);

        await LoginNeedsSignInAsync(env);
        var refused = WebUtility.HtmlDecode(await env.SignInAsync(proxy));

        Assert.Contains("Sign-in failed", refused, StringComparison.Ordinal);
        Assert.Contains(Refusal, refused, StringComparison.Ordinal);
        var logged = await proxy.WaitForLineAsync(l => l.Contains(Refusal, StringComparison.Ordinal));
        Assert.Contains(TestEnvironment.Account, logged, StringComparison.Ordinal);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.Empty(TokenFiles(env));
        var authorize = Assert.Single(env.Identity.AuthorizeRequests);
        Assert.Equal(["openid", "profile", "email"], authorize.Scope!.Split(' ')[^3..]);
        Assert.Equal(Bob, Assert.Single(env.Identity.IssuedIdTokens)["preferred_username"]);

        // Nothing was kept: the next login still needs a sign-in and says why the last one failed, and the right person's is accepted.
        var next = await LoginNeedsSignInAsync(env);
        Assert.Contains("(the last sign-in failed: ", next, StringComparison.Ordinal);
        Assert.Contains($"signed in as {Bob}, but this account is {TestEnvironment.Account}", next, StringComparison.Ordinal);
        var accepted = WebUtility.HtmlDecode(await SignInFromStatusPageAsync(env));

        Assert.Contains($"is signed in with Microsoft as {TestEnvironment.Account}", accepted, StringComparison.Ordinal);
        var file = JsonNode.Parse(await File.ReadAllTextAsync(Assert.Single(TokenFiles(env))))!;
        Assert.Equal(TestEnvironment.Account, (string?)file["identity"]);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task SignIn_DelegateInAllowIdentity_AcceptedAndOpensTheSharedMailbox()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(append: $"allow_identity = alice@example.com {Bob}\n");
        var proxy = await env.StartProxyAsync();
        env.Identity.SignInAsNext(Bob);
        env.Identity.AllowDelegate(Bob, TestEnvironment.Account);

        await LoginNeedsSignInAsync(env);
        var page = WebUtility.HtmlDecode(await env.SignInAsync(proxy));

        Assert.Contains($"is signed in with Microsoft as {Bob}", page, StringComparison.Ordinal);
        var file = JsonNode.Parse(await File.ReadAllTextAsync(Assert.Single(TokenFiles(env))))!;
        Assert.Equal(Bob, (string?)file["identity"]);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Contains($"user={TestEnvironment.Account}\u0001", Assert.Single(env.Imap.XOAuth2Strings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_NoIdTokenButJwtAccessTokens_TheUpnDecides()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.IssueIdTokens = false;
        env.Identity.JwtAccessTokens = true;
        var proxy = await env.StartProxyAsync();
        env.Identity.SignInAsNext(Bob);

        await LoginNeedsSignInAsync(env);
        Assert.Contains(Refusal, WebUtility.HtmlDecode(await env.SignInAsync(proxy)), StringComparison.Ordinal);
        Assert.Empty(env.Identity.IssuedIdTokens);

        await LoginNeedsSignInAsync(env);
        Assert.Contains($"as {TestEnvironment.Account}", WebUtility.HtmlDecode(await SignInFromStatusPageAsync(env)), StringComparison.Ordinal);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
    }

    /// <summary>An IMAP login refused for a needed sign-in; returns the NO line.</summary>
    private static async Task<string> LoginNeedsSignInAsync(TestEnvironment env)
    {
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"s1 LOGIN {TestEnvironment.Account} x\r\n");
        var refused = await client.ReadLineAsync() ?? "";
        Assert.Contains("needs an OAuth2 sign-in", refused, StringComparison.Ordinal);
        return refused;
    }

    /// <summary>The account's "Sign in" button on the status page (it joins the sign-in the last login started), through the provider, back to the proxy.</summary>
    private static Task<string> SignInFromStatusPageAsync(TestEnvironment env) => env.SignInFromStatusPageAsync();

    private static string[] TokenFiles(TestEnvironment env) =>
        Directory.Exists(env.TokenDirectory) ? Directory.GetFiles(env.TokenDirectory, "*.json") : [];
}
