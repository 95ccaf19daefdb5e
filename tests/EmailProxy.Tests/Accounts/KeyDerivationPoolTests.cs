using EmailProxy.Accounts;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Accounts;

public sealed class KeyDerivationPoolTests : IDisposable
{
    private readonly BlockingKeyDerivation _derivation = new();

    [Fact]
    public async Task RunAsync_BlockingDerivation_ReturnsToTheCallerAtOnceAndRunsOffThePool()
    {
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 0);

        var check = pool.RunAsync(() => _derivation.Matches("", BlockingKeyDerivation.RightPassword), CancellationToken.None);

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

        var checks = Enumerable.Range(0, 5).Select(_ => pool.RunAsync(() => _derivation.Matches("", "guess"), CancellationToken.None)).ToList();
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
        var running = pool.RunAsync(() => _derivation.Matches("", "a"), CancellationToken.None);
        var waiting = pool.RunAsync(() => _derivation.Matches("", "b"), CancellationToken.None);

        var refused = await pool.RunAsync(() => _derivation.Matches("", "c"), CancellationToken.None).Guarded();

        Assert.Equal(PasswordCheck.Busy, refused);
        _derivation.Release();
        await Task.WhenAll(running, waiting).Guarded();
        Assert.Equal(2, _derivation.Started);
        Assert.Equal(PasswordCheck.Mismatch, await pool.RunAsync(() => _derivation.Matches("", "d"), CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task RunAsync_CancelledWhileWaitingForASlot_LeavesTheLine()
    {
        var pool = new KeyDerivationPool(slots: 1, maxWaiting: 1);
        var running = pool.RunAsync(() => _derivation.Matches("", "a"), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = pool.RunAsync(() => _derivation.Matches("", "b"), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.Guarded());
        var next = pool.RunAsync(() => _derivation.Matches("", "c"), CancellationToken.None);
        Assert.False(next.IsCompleted);
        _derivation.Release();
        Assert.Equal(PasswordCheck.Mismatch, await next.Guarded());
        await running.Guarded();
    }

    public void Dispose() => _derivation.Release();
}
