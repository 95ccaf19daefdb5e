using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary>The generated client password of an account made from a template, made where every sign-in ends.</summary>
public sealed class SignInManagerTemplatePasswordTests : IDisposable
{
    private const string Alice = "alice@example.org";

    private readonly OAuth2Fixture _fx = new();
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;
    private readonly ProxyConfig _config;
    private readonly AccountOptions _alice;

    public SignInManagerTemplatePasswordTests()
    {
        _config = _fx.ConfigWith([_fx.Account]) with { Templates = [new AccountTemplate("*@example.org", TestAccounts.Create("*@example.org"), 10)] };
        _alice = _config.ResolveAccount(Alice, _fx.Time.GetUtcNow()).Account!;
        _tokens = _fx.NewService();
        _signIns = new SignInManager(_config, _fx.Client, _tokens, _fx.Time, NullLogger<SignInManager>.Instance);
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(HttpStatusCode.OK,
            $"{{\"access_token\":\"opaque-access\",\"refresh_token\":\"the-refresh\",\"expires_in\":3600,\"token_type\":\"Bearer\",\"id_token\":\"{TestJwt.Create(new { preferred_username = Alice })}\"}}");
    }

    public void Dispose() => _fx.Dispose();

    private async Task<SignInCompletion> SignInAsync(AccountOptions account) =>
        await _signIns.CompleteAsync(_signIns.StartOrJoin(account).State, "the-code", null, null).Guarded();

    [Fact]
    public async Task CompleteAsync_FirstSignInOfATemplateAccount_GivesAPasswordOnceWhoseHashIsKept()
    {
        var result = await SignInAsync(_alice);

        Assert.True(result.Succeeded, result.Message);
        var password = result.Password!.Take();
        Assert.Matches("^[a-km-np-z2-9]{20}$", password);
        Assert.Null(result.Password.Take());
        Assert.DoesNotContain(password!, result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password!, result.ToString(), StringComparison.Ordinal);
        var hash = (await _tokens.SnapshotAsync(_alice, CancellationToken.None)).PasswordHash;
        Assert.True(new PasswordVerifier().Verify(Alice, hash!, password!));
        Assert.True(_config.Created.Contains(Alice));
    }

    [Fact]
    public async Task CompleteAsync_LaterSignInOfATemplateAccount_KeepsThePasswordAndShowsNone()
    {
        var first = await SignInAsync(_alice);
        var hash = (await _tokens.SnapshotAsync(_alice, CancellationToken.None)).PasswordHash;
        // Shown at the end of the first sign-in: from then on a mail client may use it.
        Assert.NotNull(first.Password!.Take());

        var second = await SignInAsync(_alice);

        Assert.True(second.Succeeded);
        Assert.Null(second.Password);
        Assert.Equal(hash, (await _tokens.SnapshotAsync(_alice, CancellationToken.None)).PasswordHash);
    }

    [Fact]
    public async Task CompleteAsync_LaterSignInWhenThePasswordWasNeverShown_MakesANewOneAndDropsTheOld()
    {
        // A device code entered elsewhere: nobody was at a page of the proxy to be shown the first password.
        var first = await SignInAsync(_alice);

        var second = await SignInAsync(_alice);

        Assert.True(second.Succeeded, second.Message);
        var password = second.Password?.Take();
        Assert.NotNull(password);
        Assert.Null(first.Password!.Take());
        var hash = (await _tokens.SnapshotAsync(_alice, CancellationToken.None)).PasswordHash;
        Assert.True(new PasswordVerifier().Verify(Alice, hash!, password));
    }

    [Fact]
    public async Task Unshown_SignInEndedWithNobodyShownThePassword_TakenOnceThenGoneEverywhere()
    {
        var result = await SignInAsync(_alice);

        Assert.True(await _signIns.Unshown.IsWaitingAsync(Alice, CancellationToken.None));
        var password = (await _signIns.Unshown.TakeAsync(Alice, CancellationToken.None)).Password;
        Assert.NotNull(password);
        Assert.True(new PasswordVerifier().Verify(Alice, (await _tokens.SnapshotAsync(_alice, CancellationToken.None)).PasswordHash!, password));
        Assert.False(await _signIns.Unshown.IsWaitingAsync(Alice, CancellationToken.None));
        Assert.Null((await _signIns.Unshown.TakeAsync(Alice, CancellationToken.None)).Password);
        Assert.Null(result.Password!.Take());
        Assert.DoesNotContain(password, _signIns.Unshown.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unshown_PasswordShownAtTheEndOfItsSignIn_NothingWaits()
    {
        var result = await SignInAsync(_alice);

        Assert.NotNull(result.Password!.Take());

        Assert.False(await _signIns.Unshown.IsWaitingAsync(Alice, CancellationToken.None));
        Assert.Null((await _signIns.Unshown.TakeAsync(Alice, CancellationToken.None)).Password);
    }

    [Fact]
    public async Task CompleteAsync_AccountNamedInTheFile_NoPassword()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(HttpStatusCode.OK,
            $"{{\"access_token\":\"opaque-access\",\"refresh_token\":\"the-refresh\",\"expires_in\":3600,\"token_type\":\"Bearer\",\"id_token\":\"{TestJwt.Create(new { preferred_username = _fx.Account.Username })}\"}}");

        var result = await SignInAsync(_fx.Account);

        Assert.True(result.Succeeded, result.Message);
        Assert.Null(result.Password);
        Assert.Null((await _tokens.SnapshotAsync(_fx.Account, CancellationToken.None)).PasswordHash);
    }
}
