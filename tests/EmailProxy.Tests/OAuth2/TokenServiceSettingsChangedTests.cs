using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.OAuth2;

/// <summary><see cref="TokenService.ForgetAccessTokenAsync"/>: a reload changed an account's OAuth settings.</summary>
public sealed class TokenServiceSettingsChangedTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task ForgetAccessTokenAsync_ValidTokenOfOldSettings_NextLoginRefreshesWithTheNewOnes()
    {
        await _fx.SeedAsync("old-settings", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        Assert.Equal("old-settings", (await service.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        var changed = _fx.Account with { ClientId = "new-client-id" };

        await service.ForgetAccessTokenAsync(changed, CancellationToken.None).Guarded();
        var outcome = await service.GetAccessTokenAsync(changed, CancellationToken.None).Guarded();

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("access-1", outcome.AccessToken);
        var refresh = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("refresh_token", refresh["grant_type"]);
        Assert.Equal("new-client-id", refresh["client_id"]);
    }

    [Fact]
    public async Task ForgetAccessTokenAsync_NotLoadedYet_TheStoredAccessTokenIsNotUsedEither()
    {
        await _fx.SeedAsync("old-settings", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        var changed = _fx.Account with { Scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access" };

        await service.ForgetAccessTokenAsync(changed, CancellationToken.None).Guarded();

        Assert.Equal("access-1", (await service.GetAccessTokenAsync(changed, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task ForgetAccessTokenAsync_RefreshOfOldSettingsOnItsWay_ItsAnswerIsNotTaken()
    {
        await _fx.SeedAsync("old", TimeSpan.FromMinutes(1));
        var hold = new TaskCompletionSource();
        _fx.Endpoint.Hold = hold;
        _fx.Endpoint.Respond = (count, _) => StubTokenEndpoint.Token($"answer-{count}", "refresh");
        var service = _fx.NewService();
        var login = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        var changed = _fx.Account with { ClientId = "new-client-id" };

        await service.ForgetAccessTokenAsync(changed, CancellationToken.None).Guarded();
        hold.SetResult();
        Assert.Equal(TokenOutcomeKind.Failed, (await login.Guarded()).Kind);
        var next = await service.GetAccessTokenAsync(changed, CancellationToken.None).Guarded();

        Assert.Equal(TokenOutcomeKind.Token, next.Kind);
        Assert.Equal("new-client-id", _fx.Endpoint.Forms[^1]["client_id"]);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task ForgetAccessTokenAsync_RefreshOnItsWayRotatesTheRefreshToken_RotatedOneIsSavedTheAccessTokenIsNot()
    {
        await _fx.SeedAsync("old", TimeSpan.FromMinutes(1), refreshToken: "single-use-1");
        var hold = new TaskCompletionSource();
        _fx.Endpoint.Hold = hold;
        _fx.Endpoint.Respond = (count, _) => StubTokenEndpoint.Token($"answer-{count}", $"single-use-{count + 1}");
        var service = _fx.NewService();
        var login = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        var changed = _fx.Account with { ClientId = "new-client-id" };

        await service.ForgetAccessTokenAsync(changed, CancellationToken.None).Guarded();
        hold.SetResult();
        Assert.Equal(TokenOutcomeKind.Failed, (await login.Guarded()).Kind);

        // On disk at once (a restart now must not find the used-up one), without the old settings' access token.
        var stored = await _fx.NewStore().LoadAsync(changed, CancellationToken.None).Guarded();
        Assert.NotNull(stored);
        Assert.Equal("single-use-2", stored.RefreshToken);
        Assert.Null(stored.AccessToken);
        var next = await service.GetAccessTokenAsync(changed, CancellationToken.None).Guarded();
        Assert.Equal(TokenOutcomeKind.Token, next.Kind);
        Assert.Equal("single-use-2", _fx.Endpoint.Forms[^1]["refresh_token"]);
        Assert.Equal("new-client-id", _fx.Endpoint.Forms[^1]["client_id"]);
    }

    [Fact]
    public async Task ForgetAsync_AfterSettingsChangedWhileRotatingRefreshOnItsWay_NothingIsSaved()
    {
        await _fx.SeedAsync("old", TimeSpan.FromMinutes(1), refreshToken: "single-use-1");
        var hold = new TaskCompletionSource();
        _fx.Endpoint.Hold = hold;
        _fx.Endpoint.Respond = (count, _) => StubTokenEndpoint.Token($"answer-{count}", $"single-use-{count + 1}");
        var service = _fx.NewService();
        var login = service.GetAccessTokenAsync(_fx.Account, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        var changed = _fx.Account with { ClientId = "new-client-id" };

        await service.ForgetAccessTokenAsync(changed, CancellationToken.None).Guarded();
        await service.ForgetAsync(changed, CancellationToken.None).Guarded();
        hold.SetResult();
        await login.Guarded();

        Assert.Null(await _fx.NewStore().LoadAsync(changed, CancellationToken.None).Guarded());
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await service.GetAccessTokenAsync(changed, CancellationToken.None).Guarded()).Kind);
    }
}
