using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Imap;

/// <summary>Limits, sign-in edge cases and Microsoft pitfalls, through the real emailproxy.</summary>
public sealed class ImapEdgeTests
{
    [Theory]
    [InlineData(9000, false)]
    [InlineData(65 * 1024, true)]
    public async Task Limits_LineOrLiteralTooLong_ByeAndClosedOthersUnaffected(int size, bool asLiteral)
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var bystander = await LineClient.ConnectAsync(env.ImapPort);
        await bystander.ReadLineAsync();

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync(asLiteral ? $"a1 LOGIN {{{size}}}\r\n" : $"a1 LOGIN {new string('x', size)} y\r\n");
        var bye = await client.ReadLineAsync();
        Assert.StartsWith(asLiteral ? "* BYE Literal too large" : "* BYE Line too long", bye, StringComparison.Ordinal);
        Assert.True(await client.IsClosedByServerAsync());

        await bystander.WriteAsync("b1 NOOP\r\n");
        Assert.Equal("b1 OK NOOP completed", await bystander.ReadLineAsync());
    }

    [Fact]
    public async Task Login_WaitForAuthorization_AnswersOkOnceTheSignInCompletes()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("log_level = trace", "log_level = trace\nwait_for_authorization = 120", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        // The login waits; meanwhile the person signs in from the logged URL.
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
        Assert.StartsWith("a1 OK [CAPABILITY", await client.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ConcurrentLoginsWithoutToken_ShareOneSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(async i =>
        {
            await using var client = await LineClient.ConnectAsync(env.ImapPort);
            await client.ReadLineAsync();
            await client.WriteAsync($"a{i} LOGIN {TestEnvironment.Account} x\r\n");
            return await client.ReadLineAsync();
        }));
        Assert.All(answers, a => Assert.Contains("needs an OAuth2 sign-in", a, StringComparison.Ordinal));
        // The logger writes in order, in the background: once the fifth session's last line is out, so is every sign-in line.
        await proxy.WaitForLineAsync(_ => proxy.Output.Count(l => l.Contains("IMAP session from", StringComparison.Ordinal)) >= 5);
        Assert.Single(proxy.Output, l => l.Contains("OAuth2 sign-in needed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_RefreshTokenRefused_SaysSignInNeededOnEveryLaterLogin()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(60);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInAsync(env, proxy);
        env.Identity.FailNextRefreshWith("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.");

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using var client = await LineClient.ConnectAsync(env.ImapPort);
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
            var answer = await client.ReadLineAsync();
            Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Account user@example.com needs an OAuth2 sign-in", answer, StringComparison.Ordinal);
            Assert.Contains("invalid_grant: AADSTS70008", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("Trace ID", answer, StringComparison.Ordinal);
        }
        Assert.Equal(1, env.Identity.RefreshTokenRequests);

        // A new sign-in mends it.
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
    }

    [Fact]
    public async Task Start_TokenNearItsEnd_RefreshedInTheBackgroundBeforeAnyLogin()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var first = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        Assert.Equal(0, await first.StopAsync());
        env.Identity.AccessTokenLifetime = TimeSpan.FromHours(1);

        var proxy = await env.StartProxyAsync();
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 access token of account user@example.com refreshed", StringComparison.Ordinal));
        Assert.Equal(1, env.Identity.RefreshTokenRequests);

        // The login finds the fresh token: no wait for the token endpoint.
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
    }

    [Fact]
    public async Task Login_GraphScopeRefusedByExchange_HintNamesTheRightResource()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("scope = https://outlook.office.com/IMAP.AccessAsUser.All", "scope = https://graph.microsoft.com/IMAP.AccessAsUser.All", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInAsync(env, proxy);
        env.Imap.RejectNextAuthentications(2);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED]", answer, StringComparison.Ordinal);
        Assert.Contains("graph.microsoft.com", answer, StringComparison.Ordinal);
        Assert.Contains("https://outlook.office.com/IMAP.AccessAsUser.All", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_WithoutSaslIr_TwoStepXOAuth2Works()
    {
        await using var env = await TestEnvironment.CreateAsync(upstreamSaslIr: false);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInAsync(env, proxy);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Contains(env.Imap.Commands.Lines, l => l.EndsWith("AUTHENTICATE XOAUTH2", StringComparison.Ordinal));
        Assert.StartsWith("user=user@example.com\u0001auth=Bearer ", env.Imap.XOAuth2Strings[0], StringComparison.Ordinal);
    }
}
