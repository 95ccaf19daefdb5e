using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Faults;

/// <summary>
/// Things going wrong around the proxy: each test checks what the client is told, that other
/// sessions go on, and what the log says.
/// </summary>
public sealed class FaultTests
{
    [Fact]
    public async Task Upstream_ResetsMidSession_ClientIsClosedAndOtherSessionsGoOn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        await using var imap = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);

        await env.Imap.StopAsync();
        Assert.True(await imap.IsClosedByServerAsync());
        await proxy.WaitForLineAsync(l => l.Contains("IMAP session from", StringComparison.Ordinal) && l.Contains("ended by upstream", StringComparison.Ordinal));

        await using var pop = await LineClient.ConnectAsync(env.PopPort);
        await pop.ReadLineAsync();
        await pop.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS x\r\n");
        await pop.ReadLineAsync();
        Assert.Equal("+OK Logged in through Email OAuth2 Proxy", await pop.ReadLineAsync());
    }

    [Theory]
    [InlineData(500, "server_error")]
    [InlineData(503, "temporarily_unavailable")]
    public async Task IdentityEndpoint_FailsARefresh_UnavailableAndTheNextLoginRecovers(int status, string error)
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        // While the token in hand is still valid, a failed refresh costs the client nothing.
        env.Identity.FailNextRefreshWith(error, "AADSTS90000: The service is busy.", status);
        await using (var unharmed = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
            Assert.Equal(1, env.Identity.RefreshTokenRequests);
        }

        // Once the upstream refuses that token there is none left: the client is told it is temporary.
        // (Two failures: the login's refresh before the upstream, and the one after its refusal.)
        env.Identity.FailNextRefreshWith(error, "AADSTS90000: The service is busy.", status);
        env.Identity.FailNextRefreshWith(error, "AADSTS90000: The service is busy.", status);
        env.Imap.RejectNextAuthentications(1);
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
            var answer = await client.ReadLineAsync();
            Assert.StartsWith("a1 NO [UNAVAILABLE] Account user@example.com: fake refused the OAuth2 token (\"AUTHENTICATE failed.\"), and the token refresh with Microsoft failed:", answer, StringComparison.Ordinal);
            Assert.True(answer!.Contains(error, StringComparison.Ordinal), answer);
        }
        await proxy.WaitForLineAsync(l => l.Contains("token refresh of account user@example.com failed", StringComparison.Ordinal));

        // A passing failure marks nothing: the next login refreshes and works.
        await using var again = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
    }

    [Fact]
    public async Task IdentityEndpoint_Down_UnavailableNamingTheFailure()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        Assert.Equal(0, await proxy.StopAsync());

        // The same tokens, but the provider's endpoint is gone.
        var dead = TestEnvironment.GetFreePort();
        env.WriteConfig(transform: t => t.Replace(env.Identity.Authority, $"http://127.0.0.1:{dead}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        env.Imap.RejectNextAuthentications(1);
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("a1 NO [UNAVAILABLE] Account user@example.com: fake refused the OAuth2 token", answer, StringComparison.Ordinal);
        Assert.Contains("the token refresh with Microsoft failed: the token endpoint did not answer", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenFile_Damaged_SignInNeededAndTheOldFileIsKept()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        Assert.Equal(0, await proxy.StopAsync());
        var file = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        var damaged = (await File.ReadAllTextAsync(file)).Replace("\"secrets\": \"", "\"secrets\": \"AAAA", StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, damaged);

        var restarted = await env.StartProxyAsync();
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
            Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        await restarted.WaitForLineAsync(l => l.Contains("cannot be used", StringComparison.Ordinal) && l.Contains(file, StringComparison.Ordinal));

        await ImapProxyTests.SignInFromStatusPageAsync(env);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        var kept = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.damaged-*"));
        Assert.Equal(damaged, await File.ReadAllTextAsync(kept));
    }

    [Fact]
    public async Task TokenFolder_NotWritable_TokensUsedFromMemoryAndTheOperatorIsTold()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // A file where the folder should be: nothing can be written there, not even by root.
        await File.WriteAllTextAsync(env.TokenDirectory, "not a folder");
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("could not be saved", StringComparison.Ordinal) && l.Contains("fix the folder", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigkill_WhileARefreshIsSaved_LeavesTheOldFileOrTheNewOneNeverATornOne()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // Microsoft keeps an old refresh token valid after rotation, so either file works afterwards.
        env.Identity.InvalidateRotatedRefreshTokens = false;
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var first = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        Assert.Equal(0, await first.StopAsync());

        for (var round = 1; round <= 5; round++)
        {
            var proxy = await env.StartProxyAsync();
            var served = env.Identity.RefreshTokenRequests;
            // Every login refreshes (the token has less than 5 minutes left) and saves the rotated token;
            // the kill lands right after the identity endpoint answered, while the proxy writes the file.
            var login = Task.Run(async () =>
            {
                try
                {
                    await using var client = await LineClient.ConnectAsync(env.ImapPort);
                    await client.ReadLineAsync();
                    await client.WriteAsync($"k{round} LOGIN {TestEnvironment.Account} x\r\n");
                    await client.ReadLineAsync();
                }
                catch (IOException)
                {
                    // The proxy died under it, as intended.
                }
            });
            await WaitUntilAsync(() => env.Identity.RefreshTokenRequests > served);
            await proxy.KillAsync();
            await login;

            var files = Directory.GetFiles(env.TokenDirectory, "*.json");
            Assert.Single(files);
            var restarted = await env.StartProxyAsync();
            await using (var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
            {
                Assert.DoesNotContain(restarted.Output, l => l.Contains("cannot be used", StringComparison.Ordinal));
            }
            Assert.Equal(0, await restarted.StopAsync());
        }
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }

    /// <summary>Polls a condition the test cannot await directly, with a safety limit that only fails the test.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(ObservableLog.DefaultTimeout);
        while (!condition())
        {
            await Task.Yield();
            limit.Token.ThrowIfCancellationRequested();
        }
    }
}
