using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// What replicas on one Redis must never do with an account's tokens, the identity server rotating strictly (OAuth 2.1):
/// send a refresh token a second time after Redis went away in the middle of a refresh, or each ask for themselves once
/// the provider refused the account's refresh token.
/// </summary>
public sealed class SharedTokenSafetyTests
{
    /// <summary>Less than the proxy's 5-minute refresh margin: every token issued is due for a refresh at once.</summary>
    private static readonly TimeSpan DueAtOnce = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Login_RedisStoppedWhileARefreshIsAnsweredThenBack_RotatedTokenKeptAndUsedNoReplay()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.StrictRefreshRotation = true;
        env.Identity.AccessTokenLifetime = DueAtOnce;
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis, count: 2,
            processEnvironment: new Dictionary<string, string?> { ["EMAILPROXY_REDIS_REFRESH_LEASE"] = "2" });
        var (a, b) = (set.Replicas[0], set.Replicas[1]);
        await ScaleOutSteps.SignInThroughAsync(set, a);

        // A refreshes (under the lock, the record read); Redis stops before the identity server answers: the rotated
        // refresh token cannot be saved.
        env.Identity.HoldNextRefresh();
        var during = ScaleOutSteps.ImapLoginAsync(a.ImapPort);
        await env.Identity.RefreshHeld.WaitAsync(ObservableLog.DefaultTimeout);
        await redis.StopAsync();
        await a.Process.WaitForLineAsync(l => l.Contains("The connection to Redis", StringComparison.Ordinal) && l.Contains("is lost", StringComparison.Ordinal));
        env.Identity.ReleaseHeldRefresh();
        Assert.StartsWith("l1 OK", await during, StringComparison.Ordinal);

        await redis.StartAsync();
        await a.Process.WaitForLineAsync(l => l.Contains("The connection to Redis", StringComparison.Ordinal) && l.Contains("is back", StringComparison.Ordinal));
        // Every token is due at once: A refreshes again (with the token only it knew), then B (with what A saved).
        var afterOnA = await ScaleOutSteps.ImapLoginAsync(a.ImapPort);
        var afterOnB = await ScaleOutSteps.ImapLoginAsync(b.ImapPort);

        Assert.True(afterOnA.StartsWith("l1 OK", StringComparison.Ordinal), afterOnA + "\n" + a.Process.Describe());
        Assert.True(afterOnB.StartsWith("l1 OK", StringComparison.Ordinal), afterOnB + "\n" + b.Process.Describe());
        Assert.Equal(0, env.Identity.ReplayedRefreshTokens);
        Assert.Equal(3, env.Identity.RefreshTokenRequests);
    }

    [Fact]
    public async Task Login_RefreshTokenRefusedWithThreeReplicas_OneRefreshRequestEveryReplicaAsksForASignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis);
        await ScaleOutSteps.SignInThroughAsync(set, set.Replicas[0]);
        foreach (var replica in set.Replicas)
        {
            Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(replica.ImapPort), StringComparison.Ordinal);
        }
        env.Identity.RevokeAllRefreshTokens();
        env.Identity.ExpireAllAccessTokens();

        var answers = new List<string>();
        foreach (var replica in set.Replicas)
        {
            answers.Add(await ScaleOutSteps.ImapLoginAsync(replica.ImapPort));
        }

        Assert.All(answers, answer => Assert.Contains("needs an OAuth2 sign-in", answer, StringComparison.Ordinal));
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
    }
}
