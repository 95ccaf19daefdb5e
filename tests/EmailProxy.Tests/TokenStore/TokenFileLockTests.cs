using System.Security.Cryptography;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.TokenStore;

/// <summary>One writer per token file: <see cref="FileLock"/> and the store's saves and deletes under it.</summary>
public sealed class TokenFileLockTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly MasterKey _key = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
    private readonly AccountOptions _account = TestAccounts.Create();

    public void Dispose() => _temp.Dispose();

    private string TokenDirectory => _temp.Combine("tokens");

    private TokenFileStore NewStore(TimeSpan? lockTimeout = null) =>
        new(TokenDirectory, _key, _time, NullLogger<TokenFileStore>.Instance) { LockTimeout = lockTimeout ?? TimeSpan.FromSeconds(10) };

    private StoredTokens Tokens(string refresh = "refresh-1") => new("access-1", _time.GetUtcNow().AddHours(1), refresh, _time.GetUtcNow());

    /// <summary>The lock another process would hold while it writes the account's file (flock is per open file, so one process shows it too).</summary>
    private FileLock HoldAccountLock(TokenFileStore store)
    {
        Directory.CreateDirectory(TokenDirectory);
        return FileLock.TryAcquire(TokenFileStore.LockPathFor(store.PathFor(_account.Name)))!;
    }

    [Fact]
    public void TryAcquire_HeldByAnother_IsNullUntilReleased()
    {
        var path = _temp.Combine("a.lock");
        using (var first = FileLock.TryAcquire(path))
        {
            Assert.NotNull(first);
            Assert.Null(FileLock.TryAcquire(path));
        }
        using var again = FileLock.TryAcquire(path);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task SaveAsync_WhileAnotherWriterHoldsTheLock_WaitsAndWritesOnceItIsReleased()
    {
        var store = NewStore();
        var held = HoldAccountLock(store);

        var save = store.SaveAsync(_account, Tokens(), CancellationToken.None);
        _time.Advance(FileLock.PollInterval);

        Assert.False(save.IsCompleted);
        Assert.False(File.Exists(store.PathFor(_account.Name)));
        held.Dispose();
        // Bounded: a save that never ends fails the test (Guarded below) instead of hanging it.
        for (var step = 0; step < 10_000 && !save.IsCompleted; step++)
        {
            _time.Advance(FileLock.PollInterval);
            await Task.Yield();
        }
        await save.Guarded();
        Assert.Equal("refresh-1", (await store.LoadAsync(_account, CancellationToken.None).Guarded())!.RefreshToken);
    }

    [Fact]
    public async Task SaveAsync_LockHeldPastTheTimeout_ThrowsAndLeavesTheFileAsItWas()
    {
        var store = NewStore(TimeSpan.FromSeconds(1));
        await store.SaveAsync(_account, Tokens("before"), CancellationToken.None).Guarded();
        using var held = HoldAccountLock(store);

        var save = store.SaveAsync(_account, Tokens("after"), CancellationToken.None);
        for (var step = 0; step < 10_000 && !save.IsCompleted; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Yield();
        }

        var e = await Assert.ThrowsAsync<IOException>(() => save).Guarded();
        Assert.Contains("held the lock", e.Message, StringComparison.Ordinal);
        Assert.Equal("before", (await store.LoadAsync(_account, CancellationToken.None).Guarded())!.RefreshToken);
    }

    [Fact]
    public async Task DeleteAsync_FileThere_RemovesItOnlyAndSaysSo()
    {
        var store = NewStore();
        var other = TestAccounts.Create("other@example.com");
        await store.SaveAsync(_account, Tokens(), CancellationToken.None).Guarded();
        await store.SaveAsync(other, Tokens(), CancellationToken.None).Guarded();

        Assert.True(await store.DeleteAsync(_account.Name, CancellationToken.None).Guarded());

        Assert.False(File.Exists(store.PathFor(_account.Name)));
        Assert.True(File.Exists(store.PathFor(other.Name)));
        Assert.False(await store.DeleteAsync(_account.Name, CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task DeleteAsync_DamagedFile_RemovesIt()
    {
        var store = NewStore();
        Directory.CreateDirectory(TokenDirectory);
        await File.WriteAllTextAsync(store.PathFor(_account.Name), "{ not json");

        Assert.True(await store.DeleteAsync(_account.Name, CancellationToken.None).Guarded());
        Assert.False(File.Exists(store.PathFor(_account.Name)));
    }

    [Fact]
    public async Task SaveAsync_Twice_TheTokenFolderHoldsOnlyTokenFiles()
    {
        var store = NewStore();
        await store.SaveAsync(_account, Tokens(), CancellationToken.None).Guarded();
        await store.SaveAsync(_account, Tokens("refresh-2"), CancellationToken.None).Guarded();

        Assert.Equal([store.PathFor(_account.Name)], Directory.GetFiles(TokenDirectory));
    }
}
