using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>Three proxies on one Redis behind HAProxy: the tokens of one sign-in are every replica's.</summary>
public sealed class RedisTokenStoreTests
{
    [Fact]
    public async Task Login_SignedInThroughReplicaA_WorksThroughBAndCWithoutNewSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis);
        var (a, b, c) = (set.Replicas[0], set.Replicas[1], set.Replicas[2]);

        await ScaleOutSteps.SignInThroughAsync(set, a);

        var throughB = await ScaleOutSteps.ImapLoginAsync(b.ImapPort);
        Assert.True(throughB.StartsWith("l1 OK", StringComparison.Ordinal), throughB + "\n" + b.Process.Describe());
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(c.ImapPort), StringComparison.Ordinal);
        // And through the balancer, whichever replica it picks.
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(set.ImapPort), StringComparison.Ordinal);
        }
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.Equal(0, env.Identity.RefreshTokenRequests);
        Assert.Single(env.Identity.AuthorizeRequests);
        // Nothing in the replicas' own token folders: the tokens are in Redis only.
        foreach (var replica in set.Replicas)
        {
            var folder = Path.Combine(replica.Directory, "tokens");
            Assert.False(Directory.Exists(folder) && Directory.GetFiles(folder, "*.json").Length > 0, $"replica {replica.Name} wrote a token file");
        }
    }

    [Fact]
    public async Task TokensClear_OnReplicaB_SeenByAAndC()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis);
        var (a, b, c) = (set.Replicas[0], set.Replicas[1], set.Replicas[2]);
        await ScaleOutSteps.SignInThroughAsync(set, a);
        foreach (var replica in set.Replicas)
        {
            Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(replica.ImapPort), StringComparison.Ordinal);
        }

        var (exit, output) = await ScaleOutSteps.RunCliAsync(set, "tokens", "clear", TestEnvironment.Account, "--config", b.ConfigPath);

        Assert.True(exit == 0, output);
        Assert.Contains("running proxy forgot them", output, StringComparison.Ordinal);
        var beforeClear = a.Process.Output.ToHashSet(StringComparer.Ordinal);
        // A and C held the access token in memory: the message from B made them drop it.
        foreach (var replica in new[] { a, c, b })
        {
            var answer = await ScaleOutSteps.ImapLoginAsync(replica.ImapPort);
            Assert.True(answer.Contains("needs an OAuth2 sign-in", StringComparison.Ordinal), $"replica {replica.Name}: {answer}");
        }

        // Again from a host where no proxy runs (its own token folder): the record goes from Redis, and the replicas hear it.
        // The sign-in the logins above started (on A, joined by C and B, shared in Redis) is the one completed.
        await ScaleOutSteps.SignInThroughAsync(set, a, ignoreLines: beforeClear);
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(a.ImapPort), StringComparison.Ordinal);
        var offlineConfig = Path.Combine(env.Directory, "cli.ini");
        await File.WriteAllTextAsync(offlineConfig, set.ConfigFor(b with { Directory = Path.Combine(env.Directory, "cli") }));
        var (offlineExit, offlineOutput) = await ScaleOutSteps.RunCliAsync(set, "tokens", "clear", TestEnvironment.Account, "--config", offlineConfig);
        Assert.True(offlineExit == 0, offlineOutput);
        Assert.Contains("removed from Redis", offlineOutput, StringComparison.Ordinal);
        Assert.Contains("needs an OAuth2 sign-in", await ScaleOutSteps.ImapLoginAsync(a.ImapPort), StringComparison.Ordinal);
    }
}
