using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary><c>emailproxy tokens migrate</c>: the token folder's records to Redis and back, sealed as they are.</summary>
public sealed class TokensMigrateTests
{
    [Fact]
    public async Task TokensMigrate_FileToRedisAndBack_SameRecordAndNoNewSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var redis = new RedisServer();
        await redis.StartAsync();
        var variables = new Dictionary<string, string?> { ["EMAILPROXY_REDIS_PASSWORD"] = redis.Password };
        var fileProxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInAsync(env, fileProxy);
        await fileProxy.StopAsync();
        var tokenFile = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        var original = await File.ReadAllBytesAsync(tokenFile);
        env.WriteConfig(transform: text => text.Replace(TestEnvironment.LocalTlsOff, $"{TestEnvironment.LocalTlsOff}\ntoken_store = redis\nredis = {redis.Address}", StringComparison.Ordinal));

        var (toRedis, toRedisOutput) = await ScaleOutSteps.RunCliAsync(variables, "tokens", "migrate", "--to", "redis", "--config", env.ConfigPath);
        Assert.True(toRedis == 0, toRedisOutput);
        Assert.Contains($"1 account(s) copied from {env.TokenDirectory} to Redis at {redis.Address}: {TestEnvironment.Account}", toRedisOutput, StringComparison.Ordinal);
        File.Delete(tokenFile);
        var (toFile, toFileOutput) = await ScaleOutSteps.RunCliAsync(variables, "tokens", "migrate", "--to", "file", "--config", env.ConfigPath);
        Assert.True(toFile == 0, toFileOutput);

        // The round trip gives back the very record: the same sealed secrets, byte for byte.
        Assert.Equal(original, await File.ReadAllBytesAsync(tokenFile));

        // A proxy on Redis uses the migrated tokens without a new sign-in; meanwhile migrate refuses to run.
        await env.StartProxyAsync(variables);
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(env.ImapPort), StringComparison.Ordinal);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        var (refused, refusedOutput) = await ScaleOutSteps.RunCliAsync(variables, "tokens", "migrate", "--to", "file", "--config", env.ConfigPath);
        Assert.Equal(1, refused);
        Assert.Contains("a proxy is running", refusedOutput, StringComparison.Ordinal);
    }
}
