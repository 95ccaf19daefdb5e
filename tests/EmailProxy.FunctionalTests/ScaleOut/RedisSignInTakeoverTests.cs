using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>A device code whose poller died is polled by another replica, and the sign-in completes there.</summary>
public sealed partial class RedisSignInTakeoverTests
{
    [Fact]
    public async Task DeviceCode_PollerKilledAndItsLeaseOver_AnotherReplicaPollsAndSignsIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        await using var redis = new RedisServer();
        await using var set = await ReplicaSet.StartAsync(env, redis, count: 2, append: "flow = device_code\n");
        var (a, b) = (set.Replicas[0], set.Replicas[1]);

        var refused = await ScaleOutSteps.ImapLoginAsync(a.ImapPort);
        var code = UserCodePattern().Match(refused).Groups[1].Value;
        Assert.Equal(code, Assert.Single(env.Identity.IssuedUserCodes));
        await a.Process.KillAsync();
        // What the lease's running out does, without waiting for it.
        await ExpirePollLeasesAsync(redis);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);
        using (var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout })
        {
            using var status = await http.GetAsync(new Uri(b.HttpAddress, "/status.json"));
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            Assert.Contains($"\"{code}\"", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await b.Process.WaitForLineAsync(line => line.Contains($"OAuth2 sign-in of account {TestEnvironment.Account} with Microsoft succeeded", StringComparison.Ordinal));
        Assert.Contains(b.Process.Output, line => line.Contains("polled from this replica", StringComparison.Ordinal));
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(b.ImapPort), StringComparison.Ordinal);
        Assert.Single(env.Identity.IssuedUserCodes);
    }

    /// <summary>Deletes every device code's poll lease (<c>emailproxy:signin:poll:*</c>) with Debian's redis-cli.</summary>
    private static async Task ExpirePollLeasesAsync(RedisServer redis)
    {
        var start = new ProcessStartInfo("redis-cli")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "-h", "127.0.0.1", "-p", redis.Port.ToString(CultureInfo.InvariantCulture),
            "EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('DEL', k) end return n", "0", "emailproxy:signin:poll:*",
        })
        {
            start.ArgumentList.Add(argument);
        }
        if (redis.Password is { } password)
        {
            start.Environment["REDISCLI_AUTH"] = password;
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0 && output.Trim() is "1" or "(integer) 1", $"redis-cli: {output} {error}");
    }

    [GeneratedRegex(@"enter ([A-Z0-9-]+) ")]
    private static partial Regex UserCodePattern();
}
