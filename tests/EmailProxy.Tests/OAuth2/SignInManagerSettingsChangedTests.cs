using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary><see cref="SignInManager.EndSignInsOf"/>: a reload changed an account's OAuth settings or removed it.</summary>
public sealed class SignInManagerSettingsChangedTests : IDisposable
{
    private const string SettingsChanged = "the account's settings changed; sign in again";

    private readonly OAuth2Fixture _fx = new();
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;

    public SignInManagerSettingsChangedTests()
    {
        _tokens = _fx.NewService();
        _signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, NullLogger<SignInManager>.Instance);
    }

    public void Dispose()
    {
        _signIns.Dispose();
        _fx.Dispose();
    }

    [Fact]
    public async Task StartOrJoin_AfterTheSettingsChanged_StartsANewSignInWithTheNewSettings()
    {
        var old = _signIns.StartOrJoin(_fx.Account);
        var changed = _fx.Account with { ClientId = "new-client-id" };

        _signIns.EndSignInsOf(_fx.Account.Name);
        var next = _signIns.StartOrJoin(changed);

        Assert.NotSame(old, next);
        Assert.Equal("new-client-id", QueryHelpers.ParseQuery(next.AuthorizeUrl!.Query)["client_id"].ToString());
        Assert.Same(next, _signIns.Current(changed));
        var ended = await old.Completion.Guarded();
        Assert.False(ended.Succeeded);
        Assert.Contains(SettingsChanged, ended.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_RedirectOfASignInStartedWithTheOldSettings_RefusedWithoutRequest()
    {
        var old = _signIns.StartOrJoin(_fx.Account);

        _signIns.EndSignInsOf(_fx.Account.Name);
        var result = await _signIns.CompleteAsync(old.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains(SettingsChanged, result.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
    }

    [Fact]
    public async Task CompletePastedAsync_AddressOfASignInStartedWithTheOldSettings_RefusedWithoutRequest()
    {
        var old = _signIns.StartOrJoin(_fx.Account);

        _signIns.EndSignInsOf(_fx.Account.Name);
        var result = await _signIns.CompletePastedAsync(_fx.Account, $"http://127.0.0.1:18089/?state={old.State}&code=the-code", CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains(SettingsChanged, result.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_SettingsChangeWhileTheCodeIsRedeemed_TokensAreNotTaken()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fx.Endpoint.Hold = hold;
        var old = _signIns.StartOrJoin(_fx.Account);
        var completing = _signIns.CompleteAsync(old.State, "the-code", null, null);
        await _fx.Endpoint.FirstRequest.Task.Guarded();

        _signIns.EndSignInsOf(_fx.Account.Name);
        hold.SetResult();
        var result = await completing.Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains(SettingsChanged, result.Message, StringComparison.Ordinal);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        Assert.Null(await _fx.NewStore().LoadAsync(_fx.Account, CancellationToken.None).Guarded());
    }
}
