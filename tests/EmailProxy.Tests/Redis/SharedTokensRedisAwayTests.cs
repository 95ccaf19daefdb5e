using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Xunit;

namespace EmailProxy.Tests.Redis;

/// <summary>
/// The token service on a shared store while Redis is gone (killed) and back, with replicas in one process
/// (<see cref="SharedTokensFixture"/>): a refresh answered meanwhile is never lost nor its refresh token replayed, and an
/// account whose tokens could not be read is not taken for one without tokens. A class of its own: these wait for the Redis
/// client to reconnect, and run beside <see cref="SharedTokenServiceTests"/>.
/// </summary>
public sealed class SharedTokensRedisAwayTests : IAsyncLifetime
{
    /// <summary>Less than the 5-minute refresh margin left of the hour the signed-in access token lasts: due for a refresh.</summary>
    private static readonly TimeSpan UntilDue = TimeSpan.FromMinutes(58);

    private SharedTokensFixture _shared = null!;

    private AccountOptions Account => _shared.Fx.Account;

    public async Task InitializeAsync() => _shared = await SharedTokensFixture.StartAsync();

    public async Task DisposeAsync() => await _shared.DisposeAsync();

    /// <summary>
    /// Signs the account in through <paramref name="a"/>, lets its access token fall due, and has the refresh that follows
    /// answered only after Redis was killed (it read the record under the lock and asked; Redis went before the answer came):
    /// the rotated tokens cannot be saved and are kept aside. The outcome of that refresh.
    /// </summary>
    private async Task<TokenOutcome> RefreshAnsweredWhileRedisGoneAsync(SharedTokensFixture.Replica a)
    {
        await _shared.SignInAsync(a);
        _shared.Fx.Time.Advance(UntilDue);
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _shared.Fx.Endpoint.Hold = hold;
        var refreshing = a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None);
        await _shared.Fx.Endpoint.FirstRequest.Task.Guarded();
        await _shared.Redis.KillAsync();
        hold.SetResult();
        return await refreshing.Guarded();
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshNotSavedWhileRedisGoneThenNoticeAndNextRefresh_NewestRefreshTokenUsedAndSaved()
    {
        var a = await _shared.NewReplicaAsync();
        var whileGone = await RefreshAnsweredWhileRedisGoneAsync(a);
        await _shared.Redis.StartAsync();
        await SharedTokensFixture.WaitConnectedAsync(a);
        // Another replica's notice drops the cached state: the unsaved tokens must survive it.
        a.Tokens.ForgetCached(Account.Name);
        _shared.Fx.Endpoint.Hold = null;
        _shared.Fx.Time.Advance(TimeSpan.FromHours(2));
        var next = await a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();

        Assert.Equal("access-1", whileGone.AccessToken);
        Assert.Equal(0, _shared.Replays);
        Assert.Equal("access-2", next.AccessToken);
        Assert.Equal(["refresh-0", "refresh-1"], _shared.Fx.Endpoint.Forms.Select(form => form["refresh_token"]));
        Assert.Equal("refresh-2", (await a.Store.LoadAsync(Account, CancellationToken.None))?.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshNotSavedWhileRedisGoneThenBack_WrittenAtOnceSoAnotherReplicaRefreshesWithIt()
    {
        var a = await _shared.NewReplicaAsync();
        await RefreshAnsweredWhileRedisGoneAsync(a);

        // No login on A: Redis being back is enough for A to write what it kept.
        await _shared.Redis.StartAsync();
        await _shared.Logs.WaitForAsync(entry => entry.EventId.Name == "UnsavedTokensWritten").Guarded();
        var b = await _shared.NewReplicaAsync();
        _shared.Fx.Endpoint.Hold = null;
        _shared.Fx.Time.Advance(TimeSpan.FromHours(2));
        var onB = await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();

        Assert.Equal(0, _shared.Replays);
        Assert.Equal("access-2", onB.AccessToken);
        Assert.Equal(["refresh-0", "refresh-1"], _shared.Fx.Endpoint.Forms.Select(form => form["refresh_token"]));
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefreshNotSavedWhileRedisGoneThenSignedInElsewhere_StoresTokensWinUnsavedDropped()
    {
        var a = await _shared.NewReplicaAsync();
        var b = await _shared.NewReplicaAsync();
        await RefreshAnsweredWhileRedisGoneAsync(a);
        await _shared.Redis.StartAsync();
        await SharedTokensFixture.WaitConnectedAsync(a);

        await _shared.SignInAsync(b, accessToken: "access-new", refreshToken: "refresh-new");
        _shared.Fx.Endpoint.Hold = null;
        _shared.Fx.Time.Advance(TimeSpan.FromHours(2));
        var afterwards = await a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();

        // The sign-in's refresh token is the one refreshed; the unsaved one was never written over it.
        Assert.Equal(0, _shared.Replays);
        Assert.Equal(["refresh-0", "refresh-new"], _shared.Fx.Endpoint.Forms.Select(form => form["refresh_token"]));
        Assert.Equal("access-2", afterwards.AccessToken);
        Assert.Equal("refresh-2", (await a.Store.LoadAsync(Account, CancellationToken.None))?.RefreshToken);
    }

    /// <summary>
    /// A sign-in completed while Redis is gone (a device code approved meanwhile) is kept aside as a refresh's tokens are, and
    /// written when Redis is back, keeping the template password hash the record holds: it is not dropped for the record's
    /// older tokens at the next refresh, and another replica uses it.
    /// </summary>
    [Fact]
    public async Task AcceptSignInAsync_WhileRedisGone_WrittenWhenBackWithThePasswordHashKept()
    {
        var a = await _shared.NewReplicaAsync();
        await _shared.SignInAsync(a, passwordHash: "the-hash");
        await _shared.Redis.KillAsync();

        await _shared.SignInAsync(a, accessToken: "access-new", refreshToken: "refresh-new");
        await _shared.Redis.StartAsync();
        await _shared.Logs.WaitForAsync(entry => entry.EventId.Name == "UnsavedTokensWritten").Guarded();
        var b = await _shared.NewReplicaAsync();
        var onB = await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();
        var stored = await b.Store.LoadAsync(Account, CancellationToken.None);

        Assert.Equal("access-new", onB.AccessToken);
        Assert.Equal("refresh-new", stored?.RefreshToken);
        Assert.Equal("the-hash", stored?.PasswordHash);
    }

    [Fact]
    public async Task SnapshotAsync_FirstLoadWhileRedisGone_NotKeptReadAgainWhenBack()
    {
        var a = await _shared.NewReplicaAsync();
        var b = await _shared.NewReplicaAsync();
        await _shared.SignInAsync(a, passwordHash: "the-hash");
        // B connects first, so that it is the one to notice Redis gone and back.
        Assert.Equal("the-hash", (await b.Store.LoadAsync(Account, CancellationToken.None))?.PasswordHash);
        await _shared.Redis.KillAsync();

        var whileGone = await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();
        var snapshotWhileGone = await b.Tokens.SnapshotAsync(Account, CancellationToken.None).Guarded();
        await _shared.Redis.StartAsync();
        await SharedTokensFixture.WaitConnectedAsync(b);
        var snapshotBack = await b.Tokens.SnapshotAsync(Account, CancellationToken.None).Guarded();
        var back = await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded();

        Assert.Equal(TokenOutcomeKind.Failed, whileGone.Kind);
        Assert.Contains($"Redis at 127.0.0.1:{_shared.Redis.Port}", whileGone.Message, StringComparison.Ordinal);
        Assert.Null(snapshotWhileGone.PasswordHash);
        Assert.False(snapshotWhileGone.SignedIn);
        Assert.Contains("Redis at 127.0.0.1", snapshotWhileGone.Unreadable, StringComparison.Ordinal);
        Assert.Equal("the-hash", snapshotBack.PasswordHash);
        Assert.Null(snapshotBack.Unreadable);
        Assert.Equal("access-0", back.AccessToken);
    }
}
