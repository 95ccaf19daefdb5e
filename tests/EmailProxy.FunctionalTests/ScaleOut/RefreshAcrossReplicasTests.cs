using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// The refresh of an account shared by three replicas is single-flight across them (a lock in Redis): one refresh at the
/// identity server however many logins wait on it, and a replica that dies holding the lock blocks the account for its lease
/// only. The identity server rotates strictly (OAuth 2.1): a replayed refresh token would revoke the account's tokens.
/// </summary>
public sealed class RefreshAcrossReplicasTests
{
    /// <summary>Less than the proxy's 5-minute refresh margin: the signed-in account's token is due for a refresh at once.</summary>
    private static readonly TimeSpan DueAtOnce = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Login_300ConcurrentOverThreeReplicasRightAfterTheTokenExpired_AllOkWithOneRefresh()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.StrictRefreshRotation = true;
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis);
        await ScaleOutSteps.SignInThroughAsync(set, set.Replicas[0]);
        // Every replica holds the access token in memory, then it expires at the provider: the upstream refuses it and
        // every replica's next logins need a new one at the same moment.
        foreach (var replica in set.Replicas)
        {
            Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(replica.ImapPort), StringComparison.Ordinal);
        }
        env.Identity.ExpireAllAccessTokens();

        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => ScaleOutSteps.ImapLoginAsync(set.ImapPort)));

        var failed = answers.Where(answer => !answer.StartsWith("l1 OK", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} kinds of failure, refreshes {env.Identity.RefreshTokenRequests}: {string.Join("\n", failed)}\n{string.Join("\n", set.Replicas.SelectMany(r => r.Process.Output).Where(l => l.Contains("token", StringComparison.OrdinalIgnoreCase)))}");
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        Assert.Equal(0, env.Identity.ReplayedRefreshTokens);
    }

    [Fact]
    public async Task Login_ReplicaKilledHoldingTheRefreshLock_OthersTakeOverAfterTheLeaseWithoutReplay()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.StrictRefreshRotation = true;
        env.Identity.AccessTokenLifetime = DueAtOnce;
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis,
            processEnvironment: new Dictionary<string, string?> { ["EMAILPROXY_REDIS_REFRESH_LEASE"] = "2" });
        var (a, b, c) = (set.Replicas[0], set.Replicas[1], set.Replicas[2]);
        env.Identity.HoldNextRefresh();
        await ScaleOutSteps.SignInThroughAsync(set, a);
        env.Identity.AccessTokenLifetime = TimeSpan.FromHours(1);

        // A login on A: A takes the lock and asks for a refresh, which the identity server holds; A dies meanwhile.
        var stuck = ScaleOutSteps.ImapLoginAsync(a.ImapPort);
        await env.Identity.RefreshHeld.WaitAsync(ObservableLog.DefaultTimeout);
        await a.Process.KillAsync();
        await env.Identity.RefreshAbandoned.WaitAsync(ObservableLog.DefaultTimeout);
        await Assert.ThrowsAnyAsync<Exception>(() => stuck);

        // B waits out A's lease, then refreshes with the refresh token A's dropped request never used up; C takes B's tokens.
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(b.ImapPort), StringComparison.Ordinal);
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(c.ImapPort), StringComparison.Ordinal);
        Assert.Equal(0, env.Identity.ReplayedRefreshTokens);
        Assert.Equal(2, env.Identity.RefreshTokenRequests);
        Assert.Equal(1, env.Identity.AbandonedRefreshRequests);
    }
}
