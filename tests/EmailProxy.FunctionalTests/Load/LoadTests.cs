using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Load;

/// <summary>Bounded load through the real proxy on loopback: bursts of connects, logins and held sessions.</summary>
[Collection(LoadTestsRunAlone.Name)]
public sealed class LoadTests
{
    [Fact]
    public async Task Connect_500Simultaneous_AllGreeted()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => LineClient.ConnectAsync(env.ImapPort)));
        try
        {
            var greetings = await Task.WhenAll(clients.Select(c => c.ReadLineAsync()));
            Assert.All(greetings, g => Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", g, StringComparison.Ordinal));
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Login_200ConcurrentWithAnExpiringToken_OneRefreshAnd200Successes()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // Signed in with a token that has less than the 5-minute margin left: the next logins must refresh.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Identity.AccessTokenLifetime = TimeSpan.FromHours(1);

        var clients = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => LineClient.ConnectAsync(env.ImapPort)));
        try
        {
            await Task.WhenAll(clients.Select(c => c.ReadLineAsync()));
            var answers = await Task.WhenAll(clients.Select(async (c, i) =>
            {
                await c.WriteAsync($"t{i} LOGIN {TestEnvironment.Account} x\r\n");
                return await c.ReadUntilAsync(l => l.StartsWith($"t{i} ", StringComparison.Ordinal));
            }));
            Assert.All(answers, a => Assert.Contains(" OK [CAPABILITY", a, StringComparison.Ordinal));
            Assert.Equal(1, env.Identity.RefreshTokenRequests);
            Assert.Equal(200, env.Imap.SuccessfulAuthentications);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Sessions_2000AuthenticatedHeldOpenAtOnce_AllAlive()
    {
        const int Sessions = 2000;
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var clients = new List<LineClient>(Sessions);
        try
        {
            // Logged in a hundred at a time, then all held open together.
            for (var batch = 0; batch < Sessions / 100; batch++)
            {
                clients.AddRange(await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => ImapProxyTests.LoginAsync(env, TestEnvironment.Account))));
            }
            var answers = await Task.WhenAll(clients.Select(async (c, i) =>
            {
                await c.WriteAsync($"n{i} NOOP\r\n");
                return await c.ReadUntilAsync(l => l.StartsWith($"n{i} ", StringComparison.Ordinal));
            }));
            Assert.All(answers, a => Assert.Contains(" OK", a, StringComparison.Ordinal));
            Assert.Equal(Sessions, env.Imap.SuccessfulAuthentications);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    /// <summary>
    /// Thousands of connections that are greeted and then say nothing are all held, and a further one is still
    /// served. What they cost in memory is a figure of the bench (bench/EmailProxy.Bench, part 4), not a test.
    /// </summary>
    [Fact]
    public async Task IdleUnauthenticatedConnections_Thousands_AllGreetedAndOthersAreServed()
    {
        const int Idle = 3000;
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();

        var idle = new List<LineClient>(Idle);
        try
        {
            for (var batch = 0; batch < Idle / 250; batch++)
            {
                var opened = await Task.WhenAll(Enumerable.Range(0, 250).Select(_ => LineClient.ConnectAsync(env.ImapPort)));
                idle.AddRange(opened);
                var greetings = await Task.WhenAll(opened.Select(c => c.ReadLineAsync()));
                Assert.All(greetings, g => Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", g, StringComparison.Ordinal));
            }

            await using var other = await LineClient.ConnectAsync(env.ImapPort);
            Assert.StartsWith("* OK", await other.ReadLineAsync(), StringComparison.Ordinal);
            await other.WriteAsync("a1 NOOP\r\n");
            Assert.Equal("a1 OK NOOP completed", await other.ReadLineAsync());

            // Every idle connection is still open and answers, then logs out cleanly.
            var byes = await Task.WhenAll(idle.Select(async (c, i) =>
            {
                await c.WriteAsync($"z{i} LOGOUT\r\n");
                var answer = await c.ReadUntilAsync(l => l.StartsWith($"z{i} ", StringComparison.Ordinal));
                return (Answer: answer, Closed: await c.IsClosedByServerAsync());
            }));
            Assert.All(byes, b => Assert.EndsWith(" OK LOGOUT completed", b.Answer, StringComparison.Ordinal));
            Assert.All(byes, b => Assert.True(b.Closed));
        }
        finally
        {
            await DisposeAllAsync(idle);
        }
    }

    private static async Task DisposeAllAsync(IEnumerable<LineClient> clients)
    {
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }
}
