using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.OAuth2;

/// <summary><see cref="SignInManager.EndSignInsOf"/> for device-code sign-ins: the polling of the old settings' code ends.</summary>
public sealed class DeviceCodeSettingsChangedTests : IDisposable
{
    private readonly DeviceCodeFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task EndSignInsOf_DeviceCodeBeingPolled_EndsItAndTheNextLoginAsksForANewCode()
    {
        var old = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        var changed = _fx.Account with { ClientId = "new-client-id" };

        _fx.SignIns.EndSignInsOf(_fx.Account.Name);
        var ended = await old.Completion.Guarded();
        var next = await _fx.SignIns.StartOrJoinAsync(changed).Guarded();

        Assert.False(ended.Succeeded);
        Assert.Contains("the account's settings changed; sign in again", ended.Message, StringComparison.Ordinal);
        Assert.NotSame(old, next);
        Assert.Equal(2, _fx.Authorizations);
        Assert.Equal("new-client-id", _fx.Endpoint.Forms[^1]["client_id"]);
    }

    [Fact]
    public async Task EndSignInsOf_DeviceCodeRequestOnItsWay_ItsCodeIsNotJoined()
    {
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = _fx.SignIns.StartOrJoinAsync(_fx.Account);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        var changed = _fx.Account with { ClientId = "new-client-id" };

        _fx.SignIns.EndSignInsOf(_fx.Account.Name);
        var second = _fx.SignIns.StartOrJoinAsync(changed);
        _fx.Endpoint.Hold.SetResult();
        var old = await first.Guarded();
        var next = await second.Guarded();

        Assert.Contains("the account's settings changed; sign in again", (await old.Completion.Guarded()).Message, StringComparison.Ordinal);
        Assert.NotSame(old, next);
        Assert.False(next.Completion.IsCompleted);
        Assert.Same(next, _fx.SignIns.Current(changed));
        Assert.Equal(2, _fx.Authorizations);
    }
}
