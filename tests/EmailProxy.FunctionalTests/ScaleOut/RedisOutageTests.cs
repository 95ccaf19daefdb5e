using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>Redis stopped under the replicas, then started again: what still works, what is told, and that nothing is lost.</summary>
public sealed class RedisOutageTests
{
    [Fact]
    public async Task Login_RedisStoppedThenStarted_InMemoryTokensWorkOthersTemporaryFailureNothingLost()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis);
        var (a, b) = (set.Replicas[0], set.Replicas[1]);
        await ScaleOutSteps.SignInThroughAsync(set, a);
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(a.ImapPort), StringComparison.Ordinal);

        await redis.StopAsync();
        await b.Process.WaitForLineAsync(l => l.Contains("The connection to Redis", StringComparison.Ordinal) && l.Contains("is lost", StringComparison.Ordinal));

        // A holds a valid access token in memory: its logins go on. B has none: a temporary failure that names Redis.
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(a.ImapPort), StringComparison.Ordinal);
        var refused = await ScaleOutSteps.ImapLoginAsync(b.ImapPort);
        Assert.StartsWith("l1 NO [UNAVAILABLE]", refused, StringComparison.Ordinal);
        Assert.Contains("Redis at 127.0.0.1:", refused, StringComparison.Ordinal);
        Assert.DoesNotContain(redis.Password!, refused, StringComparison.Ordinal);
        using var http = new HttpClient();
        using (var ready = await http.GetAsync(new Uri(b.HttpAddress, "readyz")))
        {
            // Named, but still ready: Redis fails every replica alike, and A's in-memory logins must keep being sent to it.
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            var text = await ready.Content.ReadAsStringAsync();
            Assert.StartsWith("ready, degraded:\n", text, StringComparison.Ordinal);
            Assert.Contains("Redis at 127.0.0.1:", text, StringComparison.Ordinal);
            Assert.DoesNotContain(redis.Password!, text, StringComparison.Ordinal);
        }

        await redis.StartAsync();
        await b.Process.WaitForLineAsync(l => l.Contains("The connection to Redis", StringComparison.Ordinal) && l.Contains("is back", StringComparison.Ordinal));

        // The token kept before the outage is still there: B uses it, no new sign-in.
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(b.ImapPort), StringComparison.Ordinal);
        using (var ready = await http.GetAsync(new Uri(b.HttpAddress, "readyz")))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        }
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }

    /// <summary>
    /// Redis that hangs (SIGSTOP: connected, answering nothing): the client's commands time out (a <c>RedisTimeoutException</c>,
    /// which is not a <c>RedisException</c>). A replica with the token in memory keeps working; one that must read the store
    /// gives the temporary failure naming Redis; once Redis answers again that replica reads the tokens and logs in: the
    /// failed read did not stay behind as one every later login joins.
    /// </summary>
    [Fact]
    public async Task Login_RedisHangs_InMemoryTokenWorksOthersTemporaryFailureThenBothWork()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis, count: 2);
        var (a, b) = (set.Replicas[0], set.Replicas[1]);
        await ScaleOutSteps.SignInThroughAsync(set, a);
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(a.ImapPort), StringComparison.Ordinal);

        redis.Pause();
        string onA, onB;
        try
        {
            onA = await ScaleOutSteps.ImapLoginAsync(a.ImapPort);
            onB = await ScaleOutSteps.ImapLoginAsync(b.ImapPort);
        }
        finally
        {
            redis.Resume();
        }
        var afterOnB = await ScaleOutSteps.ImapLoginAsync(b.ImapPort);

        Assert.StartsWith("l1 OK", onA, StringComparison.Ordinal);
        Assert.StartsWith("l1 NO [UNAVAILABLE]", onB, StringComparison.Ordinal);
        Assert.Contains("Redis at 127.0.0.1:", onB, StringComparison.Ordinal);
        Assert.StartsWith("l1 OK", afterOnB, StringComparison.Ordinal);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }
}
