using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;
using static EmailProxy.FunctionalTests.Browser.BrowserScenario;
using static EmailProxy.FunctionalTests.Browser.StatusPageContract;
using static Microsoft.Playwright.Assertions;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// The picture of the status page in the README (<c>docs/status-page.png</c>): four accounts in the states an
/// operator meets — signed in and used, a device code waiting, a refresh token the provider refused, never signed
/// in. Always saved in <c>screenshots/</c> of the output folder like every browser test's picture; to renew the
/// README's copy, run from the repository's root:
/// <code>EMAILPROXY_README_SCREENSHOT=$PWD/docs/status-page.png dotnet test tests/EmailProxy.FunctionalTests --filter ReadmeScreenshotTests</code>
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class ReadmeScreenshotTests(BrowserFixture fixture)
{
    /// <summary>An absolute path: when set, the picture is also written there.</summary>
    public const string OutputVariable = "EMAILPROXY_README_SCREENSHOT";

    private const string Used = TestEnvironment.Account;
    private const string Waiting = "shared@example.com";
    private const string Refused = "old@example.com";
    private const string Fresh = "new@example.com";

    [Fact]
    public async Task StatusPage_AccountsInEveryState_SavesTheReadmePicture()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // Short-lived access tokens: a login refreshes first, so that a refused refresh shows.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(60);
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append:
            AccountSection(env, Waiting, "flow = device_code")
            + AccountSection(env, Refused)
            + AccountSection(env, Fresh));
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await SignInWithButtonAsync(page, env, Refused);
        env.Identity.FailNextRefreshWith("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.");
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {Refused} any-password\r\n");
            Assert.Contains("AADSTS70008", await client.ReadLineAsync(), StringComparison.Ordinal);
        }

        await SignInWithButtonAsync(page, env, Used);
        await using (var session = await ImapProxyTests.LoginAsync(env, Used))
        {
            await session.WriteAsync("l2 LOGOUT\r\n");
            await session.ReadUntilAsync(l => l.StartsWith("l2 ", StringComparison.Ordinal));
        }

        await GotoStatusAsync(page, env);
        await Button(Account(page, Waiting), ShowDeviceCodeButton(Waiting)).ClickAsync();
        await Expect(Field(Account(page, Waiting), "user-code")).ToHaveTextAsync(new Regex(@"\S"));
        await Expect(Field(Account(page, Refused), "last-error")).ToContainTextAsync("AADSTS70008");
        await Expect(Field(Account(page, Used), "state")).ToHaveTextAsync(StartsWith("Signed in"));
        await Expect(Field(Account(page, Fresh), "state")).ToHaveTextAsync(StartsWith("Needs a sign-in"));
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");

        var picture = await browser.ScreenshotAsync("readme");
        if (Environment.GetEnvironmentVariable(OutputVariable) is { Length: > 0 } target)
        {
            Assert.True(Path.IsPathRooted(target), $"{OutputVariable} must be an absolute path: {target}");
            File.Copy(picture, target, overwrite: true);
        }
    }
}
