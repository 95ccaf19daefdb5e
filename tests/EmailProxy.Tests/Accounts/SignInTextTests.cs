using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Accounts;

/// <summary>What a client hears when its account needs a sign-in: by device code, browser with the served redirect, browser with the address pasted back.</summary>
public sealed class SignInTextTests : IDisposable
{
    private DeviceCodeFixture? _fx;

    public void Dispose() => _fx?.Dispose();

    private LoginService Logins(GeneralOptions? general = null, OAuthFlow flow = OAuthFlow.DeviceCode)
    {
        _fx = new DeviceCodeFixture(general, flow);
        return new LoginService(new LiveConfig(_fx.Config), new PasswordVerifier(), new LoginThrottle(_fx.Time), _fx.Tokens, _fx.SignIns);
    }

    private static Task<LoginOutcome> LoginAsync(LoginService logins) =>
        logins.LoginAsync(SessionHarness.Imap(), "sales@example.com", "any", null, CancellationToken.None).Guarded();

    [Fact]
    public async Task LoginAsync_DeviceCodeAccountWithoutToken_TellsWhereToEnterWhichCode()
    {
        var logins = Logins();

        var outcome = await LoginAsync(logins);

        Assert.Equal(LoginFailure.SignInRequired, outcome.Failure);
        Assert.Equal(
            "Account sales@example.com needs an OAuth2 sign-in with Microsoft (it has no token yet): open https://microsoft.com/devicelogin and enter ABCD-EFGH (sign in as sales@example.com), then log in again",
            outcome.Message);
    }

    [Fact]
    public async Task LoginAsync_TwoLoginsWhileACodeIsUnderWay_BothGetTheSameCode()
    {
        var logins = Logins();

        var first = await LoginAsync(logins);
        var second = await LoginAsync(logins);

        Assert.Equal(first.Message, second.Message);
        Assert.Equal(1, _fx!.Authorizations);
    }

    [Fact]
    public async Task LoginAsync_ServedRedirect_NamesTheProxysSignInPage()
    {
        var logins = Logins(flow: OAuthFlow.AuthorizationCode);

        var outcome = await LoginAsync(logins);

        Assert.Equal(
            "Account sales@example.com needs an OAuth2 sign-in with Microsoft (it has no token yet): open http://127.0.0.1:18089/accounts/sales%40example.com/signin in a browser, sign in as sales@example.com, then log in again",
            outcome.Message);
    }

    [Fact]
    public async Task LoginAsync_AddressPastedBack_GivesTheAuthorizeUrlAndTheCommandToPasteInto()
    {
        var logins = Logins(new GeneralOptions { LocalServerAuth = false }, OAuthFlow.AuthorizationCode);

        var outcome = await LoginAsync(logins);

        var pending = _fx!.SignIns.Current(_fx.Account)!;
        Assert.Equal(
            $"Account sales@example.com needs an OAuth2 sign-in with Microsoft (it has no token yet): open {pending.AuthorizeUrl!.AbsoluteUri} in a browser, sign in as sales@example.com, then copy the address the browser ends on (even an error page) into `emailproxy auth sales@example.com` and log in again",
            outcome.Message);
        Assert.True(outcome.Message.Length < 1500, "well within the fronts' 2000 characters");
    }

    [Fact]
    public async Task LoginAsync_AfterADeclinedCode_SaysSoAndShowsANewCode()
    {
        var logins = Logins();
        _fx!.PollAnswers.Enqueue(() => DeviceCodeFixture.Error("authorization_declined", "AADSTS70000: The user declined."));
        var first = await LoginAsync(logins);
        var pending = _fx.SignIns.Current(_fx.Account)!;
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        await pending.Completion.Guarded();

        var next = await LoginAsync(logins);

        Assert.Contains("enter ABCD-EFGH", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("last sign-in failed", first.Message, StringComparison.Ordinal);
        Assert.Contains("enter BCDE-FGHI", next.Message, StringComparison.Ordinal);
        Assert.Contains("(the last sign-in failed: The device code sign-in of account sales@example.com ended: the person declined the sign-in at Microsoft", next.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', next.Message);
        Assert.DoesNotContain('\n', next.Message);
    }

    [Fact]
    public async Task LoginAsync_AfterABrowserSignInRefusedAtTheProvider_SaysSoUntilOneSucceeds()
    {
        var logins = Logins(flow: OAuthFlow.AuthorizationCode);
        await LoginAsync(logins);
        var pending = _fx!.SignIns.Current(_fx.Account)!;
        await _fx.SignIns.CompleteAsync(pending.State, null, "access_denied", "AADSTS65004: User declined to consent to access the app.").Guarded();

        var next = await LoginAsync(logins);
        var state = _fx.SignIns.Current(_fx.Account)!.State;
        _fx.PollAnswers.Enqueue(() => StubTokenEndpoint.Token("browser-access", "browser-refresh"));
        Assert.True((await _fx.SignIns.CompleteAsync(state, "the-code", null, null).Guarded()).Succeeded);

        Assert.EndsWith("then log in again (the last sign-in failed: Microsoft did not sign in account sales@example.com: access_denied: AADSTS65004: User declined to consent to access the app.)", next.Message, StringComparison.Ordinal);
        Assert.Null(_fx.SignIns.LastFailure(_fx.Account));
    }

    [Fact]
    public async Task LoginAsync_DeviceEndpointRefuses_SaysWhyWithoutAskingTwice()
    {
        var logins = Logins(new GeneralOptions { WaitForAuthorization = TimeSpan.FromSeconds(30) });
        _fx!.AuthorizationAnswer = () => DeviceCodeFixture.Error("invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");

        var outcome = await LoginAsync(logins);

        Assert.Equal(LoginFailure.SignInRequired, outcome.Failure);
        Assert.StartsWith("Account sales@example.com needs an OAuth2 sign-in with Microsoft (it has no token yet), but no device code could be had: Microsoft gave no device code for account sales@example.com: invalid_client: AADSTS7000218", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("Allow public client flows", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(1, _fx.Authorizations);
    }

    [Fact]
    public async Task LoginAsync_UserCodeWithLineBreak_TextStaysOneLine()
    {
        var logins = Logins();
        _fx!.UserCodeOverride = "AB\\r\\n* OK forged";

        var outcome = await LoginAsync(logins);

        Assert.DoesNotContain('\r', outcome.Message);
        Assert.DoesNotContain('\n', outcome.Message);
        Assert.Contains("enter AB?* OK forged", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_WaitForAuthorizationWithDeviceCode_WaitsForTheCodeAndGoesOnWithTheToken()
    {
        var logins = Logins(new GeneralOptions { WaitForAuthorization = TimeSpan.FromSeconds(30) });
        _fx!.PollAnswers.Enqueue(() => StubTokenEndpoint.Token("device-access", "device-refresh"));

        var login = LoginAsync(logins);
        await _fx.Time.WhenTimersCreatedAsync(1);
        Assert.False(login.IsCompleted);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        var outcome = await login;

        // Signed in: the login went on to the upstream (here a closed port), not back to "needs a sign-in".
        Assert.Equal(LoginFailure.Unavailable, outcome.Failure);
        Assert.Contains("127.0.0.1:1", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(1, _fx.PollCount);
    }
}
