using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Accounts;

/// <summary>
/// A template account with <c>flow = device_code</c>: the code is entered on another device, so the login that starts its
/// first sign-in must say where the password that sign-in makes is shown (nobody is at a page of the proxy when it ends).
/// </summary>
public sealed class TemplateDeviceCodeLoginTests : IDisposable
{
    private readonly DeviceCodeFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task LoginAsync_DeviceCodeTemplateBeforeItsFirstSignIn_SaysWhereThePasswordIsShown()
    {
        var template = TestAccounts.Create("*@example.org") with { Flow = OAuthFlow.DeviceCode, DeviceCodeUrl = _fx.Account.DeviceCodeUrl };
        var config = _fx.Config with { Templates = [new AccountTemplate("*@example.org", template, 5)] };
        using var signIns = new SignInManager(config, _fx.Client, _fx.Tokens, _fx.Time, NullLogger<SignInManager>.Instance);
        var logins = new LoginService(new LiveConfig(config), new PasswordVerifier(new BlockingKeyDerivation(blocks: false), new KeyDerivationPool()),
            new LoginThrottle(_fx.Time), _fx.Tokens, signIns, _fx.Time);

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "alice@example.org", "anything", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.SignInRequired, outcome.Failure);
        Assert.StartsWith("Account alice@example.org needs an OAuth2 sign-in with Microsoft (its first sign-in, which makes the password to log in with from then on): "
            + $"open {DeviceCodeFixture.VerificationUri} and enter {DeviceCodeFixture.UserCode(1)} (sign in as alice@example.org), then log in again with that password: "
            + "once the code is entered, the proxy's page http://127.0.0.1:18089/accounts/alice%40example.org/signin shows it, once (\"Show the password\"), "
            + "or `emailproxy auth alice@example.org` run on the proxy's host signs in and prints it", outcome.Message, StringComparison.Ordinal);
    }
}
