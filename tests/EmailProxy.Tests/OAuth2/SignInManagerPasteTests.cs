using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary><see cref="SignInManager.CompletePastedAsync"/>: the paste-back of <c>local_server_auth = false</c>.</summary>
public sealed class SignInManagerPasteTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();
    private readonly AccountOptions _other = TestAccounts.Create("support@example.com");
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;

    public SignInManagerPasteTests()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        _tokens = _fx.NewService();
        _signIns = new SignInManager(_fx.ConfigWith([_fx.Account, _other]), _fx.Client, _tokens, _fx.Time, NullLogger<SignInManager>.Instance);
    }

    public void Dispose() => _fx.Dispose();

    /// <summary>The address the browser ends on when the provider sends it back to redirect_uri.</summary>
    private static string Returned(PendingSignIn pending, string code = "the-code") =>
        $"http://127.0.0.1:18089/?code={code}&state={Uri.EscapeDataString(pending.State)}&session_state=abc";

    [Fact]
    public async Task CompletePastedAsync_AddressOfThisSignIn_RedeemsWithTheVerifierAndSaves()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);
        var challenge = QueryHelpers.ParseQuery(pending.AuthorizeUrl!.Query)["code_challenge"].ToString();

        var result = await _signIns.CompletePastedAsync(_fx.Account, $"  \"{Returned(pending)}\"\n", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded, result.Message);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("the-code", form["code"]);
        Assert.Equal(challenge, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"]))));
        Assert.True((await pending.Completion.Guarded()).Succeeded);
        Assert.Equal("signed-in-access", (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.DoesNotContain("the-code", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompletePastedAsync_WrongState_FailsWithoutRequestAndTheSignInStays()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompletePastedAsync(_fx.Account, "http://127.0.0.1:18089/?code=the-code&state=not-the-state", CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("unknown or expired", result.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.False(pending.Completion.IsCompleted);
        Assert.Same(pending, _signIns.Current(_fx.Account));
        Assert.True((await _signIns.CompletePastedAsync(_fx.Account, Returned(pending), CancellationToken.None).Guarded()).Succeeded);
    }

    [Fact]
    public async Task CompletePastedAsync_AnotherAccountsAddress_FailsAndTheOtherStaysPendingAndCompletable()
    {
        var mine = _signIns.StartOrJoin(_fx.Account);
        var theirs = _signIns.StartOrJoin(_other);

        var result = await _signIns.CompletePastedAsync(_fx.Account, Returned(theirs), CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("belongs to another sign-in", result.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.False(theirs.Completion.IsCompleted);
        Assert.False(mine.Completion.IsCompleted);
        Assert.Same(theirs, _signIns.Current(_other));

        var completed = await _signIns.CompletePastedAsync(_other, Returned(theirs), CancellationToken.None).Guarded();
        Assert.True(completed.Succeeded, completed.Message);
        Assert.Same(_other, completed.Account);
        Assert.Same(mine, _signIns.Current(_fx.Account));
    }

    [Fact]
    public async Task CompletePastedAsync_SameAddressTwice_SecondFailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);
        Assert.True((await _signIns.CompletePastedAsync(_fx.Account, Returned(pending), CancellationToken.None).Guarded()).Succeeded);

        var replay = await _signIns.CompletePastedAsync(_fx.Account, Returned(pending), CancellationToken.None).Guarded();

        Assert.False(replay.Succeeded);
        Assert.Contains("unknown or expired", replay.Message, StringComparison.Ordinal);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompletePastedAsync_AfterTenMinutes_FailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);
        _fx.Time.Advance(SignInManager.Lifetime);

        var result = await _signIns.CompletePastedAsync(_fx.Account, Returned(pending), CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("unknown or expired", result.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Theory]
    [InlineData("")]
    [InlineData("the-code")]
    [InlineData("http://127.0.0.1:18089/?code=the-code")]
    public async Task CompletePastedAsync_Unusable_OneLineAndTheSignInStays(string text)
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompletePastedAsync(_fx.Account, text, CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.StartsWith("The pasted address cannot be used for account sales@example.com: ", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', result.Message);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.Same(pending, _signIns.Current(_fx.Account));
    }

    [Fact]
    public async Task CompletePastedAsync_ProviderRefused_CompletesTheSignInAsFailed()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompletePastedAsync(_fx.Account,
            $"http://127.0.0.1:18089/?error=access_denied&error_description=AADSTS65004&state={pending.State}", CancellationToken.None).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("AADSTS65004", result.Message, StringComparison.Ordinal);
        Assert.False((await pending.Completion.Guarded()).Succeeded);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }
}
