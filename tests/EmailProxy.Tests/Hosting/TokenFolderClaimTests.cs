using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using EmailProxy.Web;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Hosting;

public sealed class TokenFolderClaimTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingLoggerProvider _log = new();

    public void Dispose()
    {
        _log.Dispose();
        _temp.Dispose();
    }

    private string TokenDirectory => _temp.Combine("tokens");

    private TokenFolderClaim NewClaim(out ControlToken token)
    {
        token = new ControlToken(TokenDirectory);
        return new TokenFolderClaim(token, TokenDirectory, _time, _log.CreateLogger("claim"));
    }

    [Fact]
    public void Take_FolderFree_HoldsTheLockAndWritesTheTokenRemovedAtRelease()
    {
        using var claim = NewClaim(out var token);

        claim.Take();

        Assert.True(claim.IsHeld);
        Assert.Equal(token.Value, ControlToken.Read(_temp.Combine("control.token")));
        Assert.Null(FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory)));
        claim.Release();
        Assert.False(File.Exists(_temp.Combine("control.token")));
        using var free = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory));
        Assert.NotNull(free);
    }

    [Fact]
    public async Task Take_FolderHeldByAnOfflineAuth_WritesNothingUntilItLetsGo()
    {
        var other = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory))!;
        using var claim = NewClaim(out var token);

        claim.Take();
        _time.Advance(TokenFolderClaim.RetryInterval);

        Assert.False(claim.IsHeld);
        Assert.False(File.Exists(_temp.Combine("control.token")));
        Assert.Contains(_log.Lines, l => l.Contains("Another process holds the token folder", StringComparison.Ordinal));
        other.Dispose();
        _time.Advance(TokenFolderClaim.RetryInterval);
        await claim.Retrying.Guarded();
        Assert.True(claim.IsHeld);
        Assert.Equal(token.Value, ControlToken.Read(_temp.Combine("control.token")));
    }

    [Fact]
    public async Task Take_FolderTakenAfterAnOfflineAuthLetGo_AsksForTheTokensToBeReadAgain()
    {
        // The offline auth may have stored tokens meanwhile: the proxy must not keep "no token" from its start.
        var other = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory))!;
        var reloads = 0;
        using var claim = new TokenFolderClaim(new ControlToken(TokenDirectory), TokenDirectory, _time, _log.CreateLogger("claim"), () => reloads++);

        claim.Take();
        _time.Advance(TokenFolderClaim.RetryInterval);
        Assert.Equal(0, reloads);
        other.Dispose();
        _time.Advance(TokenFolderClaim.RetryInterval);
        await claim.Retrying.Guarded();

        Assert.Equal(1, reloads);
    }

    [Fact]
    public void Release_TokenFileReplacedByAnotherInstance_LeavesItsFile()
    {
        using var claim = NewClaim(out _);
        claim.Take();
        File.WriteAllText(_temp.Combine("control.token"), "another-instances-token\n");

        claim.Release();

        Assert.Equal("another-instances-token", ControlToken.Read(_temp.Combine("control.token")));
    }
}
