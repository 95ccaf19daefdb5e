using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.OAuth2;

/// <summary><see cref="TokenService.ForgetAsync"/>: <c>emailproxy tokens clear</c> and the control endpoint <c>/forget</c>.</summary>
public sealed class TokenServiceForgetTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task ForgetAsync_SignedIn_RemovesTheFileAndTheNextLoginNeedsASignIn()
    {
        await _fx.SeedAsync("access", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        Assert.Equal("access", (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);

        Assert.True(await service.ForgetAsync(_fx.Account, CancellationToken.None).Guarded());

        Assert.False(File.Exists(_fx.NewStore().PathFor(_fx.Account.Name)));
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _fx.NewService().GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task ForgetAsync_NothingStored_SaysNothingWasForgotten()
    {
        Assert.False(await _fx.NewService().ForgetAsync(_fx.Account, CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task ForgetAsync_RefreshOnItsWay_ItsAnswerIsDropped()
    {
        await _fx.SeedAsync("old", TimeSpan.FromMinutes(1));
        var hold = new TaskCompletionSource();
        _fx.Endpoint.Hold = hold;
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("refreshed", "refreshed-refresh");
        var service = _fx.NewService();
        var login = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();

        Assert.True(await service.ForgetAsync(_fx.Account, CancellationToken.None).Guarded());
        hold.SetResult();
        await login.Guarded();

        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        Assert.False(File.Exists(_fx.NewStore().PathFor(_fx.Account.Name)));
    }
}
