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

    /// <summary>The test-only switch of the proxy's file writer (PrivateFile): pause before the rename of this file.</summary>
    private const string PauseBeforeRename = "EMAILPROXY_TEST_PAUSE_BEFORE_RENAME";

    /// <summary>
    /// SIGKILL inside the window where a torn token file could happen: after the identity server has
    /// answered a refresh that rotates the refresh token, while the proxy replaces the token file. The
    /// rename is the commit point, so over 20 rounds the file must always be whole and hold either the
    /// old refresh token (kill before the rename) or the new one (after it), and once the proxy has
    /// used the new tokens (a client was served with them) the file must hold the new refresh token,
    /// because the old one may be spent. The rounds take turns:
    /// <list type="bullet">
    /// <item>kill at the pause: the new file was written and flushed under a temporary name but not
    /// renamed; the file must be exactly the old one (the identity server keeps the old token valid, as
    /// Microsoft does, so nothing is lost), and the next start removes the temporary file;</item>
    /// <item>release the pause and kill at once: the kill races the rename; old or new, never torn;</item>
    /// <item>let a client log in and kill after its OK, with the identity server enforcing rotation
    /// (a used refresh token is spent): the file must hold the new token, and the next round's refresh
    /// must succeed with it.</item>
    /// </list>
    /// Each next round's start proves the file left behind is usable: its first refresh must carry the
    /// token read from the file and be answered 200. (A kill between the identity server's answer and
    /// the rename while the provider spends old tokens would lose the account: no proxy can save a
    /// token before it has received it; Microsoft keeps old refresh tokens valid, which is why the
    /// first two kinds of round run with that behaviour.)
    /// </summary>
    [Fact]
    public async Task Sigkill_WhileARefreshedTokenFileIsReplaced_FileIsWholeOldOrNewAndTheNewTokenIsNeverLost()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // Less than the 5-minute refresh margin: every start refreshes (the background refresh) and so does every login.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var first = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        Assert.Equal(0, await first.StopAsync());
        var file = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (var round = 1; round <= 20; round++)
        {
            var kind = (round - 1) % 3;
            var before = TokenFileReader.ReadRefreshToken(file, env.SecretFile) ?? throw new InvalidOperationException("no refresh token");
            seen.Add(before);
            env.Identity.InvalidateRotatedRefreshTokens = kind == 2;
            var refreshesBefore = env.Identity.RefreshTokenRequests;
            var proxy = env.CreateProxy(new Dictionary<string, string?> { [PauseBeforeRename] = file });
            proxy.Launch();

            if (kind == 2)
            {
                // Every pause is released at once (the lines wait in the pipe); a client is served, then the kill.
                for (var i = 0; i < 5; i++)
                {
                    await proxy.SendLineAsync("go on");
                }
                // The background refresh at start first, so that none is still on its way when the kill comes.
                await proxy.WaitForLineAsync(l => l.Contains(ProxyProcess.StartedMarker, StringComparison.Ordinal));
                await proxy.WaitForLineAsync(l => l.Contains($"account {TestEnvironment.Account} refreshed", StringComparison.Ordinal));
                await using (var client = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
                {
                    await proxy.KillAsync();
                }
            }
            else
            {
                await proxy.WaitForLineAsync(l => l.StartsWith(PauseBeforeRename, StringComparison.Ordinal));
                if (kind == 1)
                {
                    await proxy.SendLineAsync("go on");
                }
                await proxy.KillAsync();
            }

            // The start read the file left by the round before, whole: its first refresh carried that token and worked.
            var refresh = env.Identity.TokenRequests.Where(r => r.GrantType == "refresh_token").Skip(refreshesBefore).First();
            Assert.Equal(before, refresh.Form["refresh_token"]);
            Assert.Equal(200, refresh.StatusCode);

            var after = TokenFileReader.ReadRefreshToken(file, env.SecretFile) ?? throw new InvalidOperationException("no refresh token");
            switch (kind)
            {
                case 0:
                    Assert.Equal(before, after);
                    Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.tmp"));
                    break;
                case 1:
                    Assert.True(after == before || !seen.Contains(after), $"round {round}: the file holds a refresh token of an earlier round");
                    break;
                default:
                    Assert.DoesNotContain(after, seen);
                    break;
            }
            Assert.Equal([file], Directory.GetFiles(env.TokenDirectory, "*.json"));
        }

        // The last file works too, and the temporary files the kills left are gone once the proxy has started.
        env.Identity.InvalidateRotatedRefreshTokens = true;
        var last = await env.StartProxyAsync();
        // Its own refresh at start writes a temporary file too: once it is done, any *.tmp left is a leftover.
        await last.WaitForLineAsync(l => l.Contains($"account {TestEnvironment.Account} refreshed", StringComparison.Ordinal));
        await using (var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
            Assert.Empty(Directory.GetFiles(env.TokenDirectory, "*.tmp"));
        }
        Assert.DoesNotContain(last.Output, l => l.Contains("cannot be used", StringComparison.Ordinal));
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }
}
