using System.Security.Cryptography;
using EmailProxy.Accounts;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace EmailProxy.Tests.Accounts;

/// <summary>The generated passwords nobody was shown: held in memory (no Redis), and what happens while Redis cannot be reached.</summary>
public sealed class UnshownPasswordsTests
{
    private const string Alice = "alice@example.org";

    [Fact]
    public async Task HoldAsync_ManySignInsEndingAtOnce_ExactlyTheOneHeldLastWaitsAndEveryOtherIsDropped()
    {
        for (var round = 0; round < 100; round++)
        {
            var unshown = new UnshownPasswords();
            var passwords = Enumerable.Range(0, 4).Select(i => new GeneratedPassword($"password-{round}-{i}", "hash")).ToArray();
            // A thread each, released together, so that the holds overlap.
            using var start = new Barrier(passwords.Length);
            var holds = passwords.Select(password => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                unshown.HoldAsync(Alice, password, CancellationToken.None).GetAwaiter().GetResult();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            await Task.WhenAll(holds);

            // A replaced password is dropped (nobody may be shown it later); the one kept is the one the status page shows.
            var waiting = Assert.Single(passwords, password => !password.Taken);
            var expected = waiting.Peek();
            Assert.Equal(expected, (await unshown.TakeAsync(Alice, CancellationToken.None)).Password);
        }
    }

    [Fact]
    public async Task TakeAsync_HeldPassword_GivenOnceThenNothingWaits()
    {
        var unshown = new UnshownPasswords();
        var password = new GeneratedPassword("the-password", "hash");
        await unshown.HoldAsync(Alice, password, CancellationToken.None);

        Assert.True(await unshown.IsWaitingAsync("ALICE@example.org", CancellationToken.None));
        Assert.Equal(new UnshownPasswords.TakeResult("the-password", false), await unshown.TakeAsync(Alice, CancellationToken.None));
        Assert.False(await unshown.IsWaitingAsync(Alice, CancellationToken.None));
        Assert.Equal(new UnshownPasswords.TakeResult(null, false), await unshown.TakeAsync(Alice, CancellationToken.None));
        Assert.Null(password.Take());
    }

    [Fact]
    public async Task TakeAsync_RedisUnreachable_SaysUnavailableAndTakesNothing()
    {
        await using var redis = new RedisConnection("127.0.0.1:6379", null, NullLogger<RedisConnection>.Instance,
            _ => Task.FromException<IConnectionMultiplexer>(new RedisException("Redis is down")));
        var store = new RedisSignInStore(redis, MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)), TimeProvider.System, NullLogger<RedisSignInStore>.Instance);
        var unshown = new UnshownPasswords(store);

        Assert.Equal(new UnshownPasswords.TakeResult(null, true), await unshown.TakeAsync(Alice, CancellationToken.None));
        Assert.False(await unshown.IsWaitingAsync(Alice, CancellationToken.None));
    }

    [Fact]
    public async Task HoldAsync_RedisUnreachable_KeptHereAndShownByThisReplica()
    {
        await using var redis = new RedisConnection("127.0.0.1:6379", null, NullLogger<RedisConnection>.Instance,
            _ => Task.FromException<IConnectionMultiplexer>(new RedisException("Redis is down")));
        var store = new RedisSignInStore(redis, MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)), TimeProvider.System, NullLogger<RedisSignInStore>.Instance);
        var unshown = new UnshownPasswords(store);

        await unshown.HoldAsync(Alice, new GeneratedPassword("the-password", "hash"), CancellationToken.None);

        Assert.True(await unshown.IsWaitingAsync(Alice, CancellationToken.None));
        Assert.Equal(new UnshownPasswords.TakeResult("the-password", false), await unshown.TakeAsync(Alice, CancellationToken.None));
    }
}
