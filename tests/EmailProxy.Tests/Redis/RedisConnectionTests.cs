using EmailProxy.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Xunit;

namespace EmailProxy.Tests.Redis;

/// <summary>The one connect of <see cref="RedisConnection"/>: shared by every caller, cancelled by none, closed with the connection.</summary>
public sealed class RedisConnectionTests
{
    private int _connects;
    private readonly TaskCompletionSource<IConnectionMultiplexer> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RedisConnection Create() => new("127.0.0.1:6379", null, NullLogger<RedisConnection>.Instance, _ =>
    {
        Interlocked.Increment(ref _connects);
        return _connected.Task;
    });

    [Fact]
    public async Task GetAsync_FirstCallerCancelledWhileConnecting_LaterCallerGetsThatSameMultiplexerWithoutASecondConnect()
    {
        await using var connection = Create();
        using var cancelled = new CancellationTokenSource();
        var first = connection.GetAsync(cancelled.Token);
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        var second = connection.GetAsync(CancellationToken.None);
        var multiplexer = FakeMultiplexer.Create();
        _connected.SetResult(multiplexer);

        Assert.Same(multiplexer, await second);
        Assert.Same(multiplexer, await connection.GetAsync(CancellationToken.None));
        Assert.Equal(1, _connects);
        Assert.False(FakeMultiplexer.Of(multiplexer).Disposed);
    }

    [Fact]
    public async Task DisposeAsync_WhileTheOnlyCallerGaveUpConnecting_ClosesTheMultiplexerOnceMade()
    {
        var connection = Create();
        using var cancelled = new CancellationTokenSource();
        var first = connection.GetAsync(cancelled.Token);
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        await connection.DisposeAsync();
        var multiplexer = FakeMultiplexer.Create();
        _connected.SetResult(multiplexer);

        await FakeMultiplexer.Of(multiplexer).DisposedTask.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(FakeMultiplexer.Of(multiplexer).Closed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task GetAsync_ConnectFailed_NextCallConnectsAgain()
    {
        var attempts = 0;
        var multiplexer = FakeMultiplexer.Create();
        await using var connection = new RedisConnection("127.0.0.1:6379", null, NullLogger<RedisConnection>.Instance, _ =>
            ++attempts == 1 ? Task.FromException<IConnectionMultiplexer>(new RedisException("refused")) : Task.FromResult(multiplexer));

        await Assert.ThrowsAsync<RedisException>(() => connection.GetAsync(CancellationToken.None));

        Assert.Same(multiplexer, await connection.GetAsync(CancellationToken.None));
        Assert.Equal(2, attempts);
    }
}
