using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Accounts;

public sealed class KeyDerivationPoolTests : IDisposable
{
    private readonly BlockingKeyDerivation _derivation = new();

    [Fact]
    public async Task RunAsync_BlockingDerivation_ReturnsToTheCallerAtOnceAndRunsOffThePool()
    {
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 0);

        var check = pool.RunAsync(() => _derivation.Matches("", BlockingKeyDerivation.RightPassword), null, CancellationToken.None);

        Assert.False(check.IsCompleted);
        await _derivation.WhenStartedAsync(1);
        _derivation.Release();
        Assert.Equal(PasswordCheck.Match, await check.Guarded());
        Assert.False(_derivation.RanOnThreadPool);
    }

    [Fact]
    public async Task RunAsync_MoreChecksThanSlots_AtMostSlotsRunAtOnceAndTheRestWait()
    {
        var pool = new KeyDerivationPool(slots: 2, maxWaiting: 3);

        var checks = Enumerable.Range(0, 5).Select(_ => pool.RunAsync(() => _derivation.Matches("", "guess"), null, CancellationToken.None)).ToList();
        await _derivation.WhenStartedAsync(2);

        Assert.Equal(2, _derivation.Started);
        Assert.All(checks, check => Assert.False(check.IsCompleted));
        _derivation.Release();
        Assert.All(await Task.WhenAll(checks).Guarded(), result => Assert.Equal(PasswordCheck.Mismatch, result));
        Assert.Equal(5, _derivation.Started);
        Assert.Equal(2, _derivation.MaxRunning);
    }

    [Fact]
    public async Task RunAsync_SlotsAndLineFull_BusyAtOnceWithoutDeriving()
    {
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 1);
        var running = pool.RunAsync(() => _derivation.Matches("", "a"), null, CancellationToken.None);
        var waiting = pool.RunAsync(() => _derivation.Matches("", "b"), null, CancellationToken.None);

        var refused = await pool.RunAsync(() => _derivation.Matches("", "c"), null, CancellationToken.None).Guarded();

        Assert.Equal(PasswordCheck.Busy, refused);
        _derivation.Release();
        await Task.WhenAll(running, waiting).Guarded();
        Assert.Equal(2, _derivation.Started);
        Assert.Equal(PasswordCheck.Mismatch, await pool.RunAsync(() => _derivation.Matches("", "d"), null, CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task RunAsync_CancelledWhileWaitingForASlot_LeavesTheLine()
    {
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 1);
        var running = pool.RunAsync(() => _derivation.Matches("", "a"), null, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = pool.RunAsync(() => _derivation.Matches("", "b"), null, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.Guarded());
        var next = pool.RunAsync(() => _derivation.Matches("", "c"), null, CancellationToken.None);
        Assert.False(next.IsCompleted);
        _derivation.Release();
        Assert.Equal(PasswordCheck.Mismatch, await next.Guarded());
        await running.Guarded();
    }

    [Fact]
    public async Task RunAsync_OneAddressWithManyConcurrentGuesses_TakesOnlyItsShareAndAnotherAddressStillRuns()
    {
        // Room for five: two guessing clients take two each (their share), the user the fifth.
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 4);
        var guesser = IPAddress.Parse("10.0.0.5");

        var guesses = Enumerable.Range(0, 20).Select(i => pool.RunAsync(() => _derivation.Matches("", $"guess {i}"), guesser, CancellationToken.None)).ToList();
        // Addresses of one IPv6 /64 are one client.
        guesses.AddRange(Enumerable.Range(0, 5).Select(i => pool.RunAsync(() => _derivation.Matches("", $"v6 guess {i}"), IPAddress.Parse($"2001:db8::{i + 2:x}"), CancellationToken.None)));
        var user = pool.RunAsync(() => _derivation.Matches("", BlockingKeyDerivation.RightPassword), IPAddress.Parse("10.0.0.9"), CancellationToken.None);
        await _derivation.WhenStartedAsync(1);

        Assert.False(user.IsCompleted, "the user's check waits for a slot; it is not refused as busy");
        Assert.All(guesses, guess => Assert.False(guess.IsCompleted, "a guess beyond the address's share waits in its own line"));
        _derivation.Release();
        Assert.Equal(PasswordCheck.Match, await user.Guarded());
        Assert.All(await Task.WhenAll(guesses).Guarded(), result => Assert.Equal(PasswordCheck.Mismatch, result));
        Assert.Equal(0, pool.TrackedAddresses);
    }

    [Fact]
    public async Task RunAsync_AddressLineWaitsPastTheBound_BusyWithoutDeriving()
    {
        var time = new FakeTimeProvider();
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 8, time);
        var guesser = IPAddress.Parse("10.0.0.5");
        var admitted = Enumerable.Range(0, KeyDerivationPool.MaxPerAddress).Select(_ => pool.RunAsync(() => _derivation.Matches("", "a"), guesser, CancellationToken.None)).ToList();
        await _derivation.WhenStartedAsync(1);

        var waiting = pool.RunAsync(() => _derivation.Matches("", "b"), guesser, CancellationToken.None);
        time.Advance(KeyDerivationPool.MaxAddressWait);

        Assert.Equal(PasswordCheck.Busy, await waiting.Guarded());
        _derivation.Release();
        await Task.WhenAll(admitted).Guarded();
        Assert.Equal(KeyDerivationPool.MaxPerAddress, _derivation.Started);
    }

    public void Dispose() => _derivation.Release();
}
