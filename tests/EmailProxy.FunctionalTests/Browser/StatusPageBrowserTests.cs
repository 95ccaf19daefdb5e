using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static EmailProxy.FunctionalTests.Browser.BrowserScenario;
using static EmailProxy.FunctionalTests.Browser.StatusPageContract;
using static Microsoft.Playwright.Assertions;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// The status page in a real browser (headless chromium) against the real proxy and the fake identity server:
/// what an operator clicks, sees and reads. Each test leaves a screenshot in <c>screenshots/</c> of the output folder.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed partial class StatusPageBrowserTests(BrowserFixture fixture)
{
    private const string Account = TestEnvironment.Account;
    private const string DeviceAccount = "shared@example.com";

    [Fact]
    public async Task SignInButton_AcceptedAtTheProvider_EndsOnSignedInAndTheStatusPageSaysSo()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ShowsSignInPage = true;
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        var account = StatusPageContract.Account(page, Account);
        await Expect(Field(account, "state")).ToHaveTextAsync(StartsWith("Needs a sign-in"));
        await Button(account, SignInButton(Account)).ClickAsync();

        // The provider's own page: the browser left the proxy.
        await Expect(page).ToHaveURLAsync(StartsWith(env.Identity.Authority + "/"));
        await Expect(page.GetByText(Account)).ToBeVisibleAsync();
        await browser.ScreenshotAsync("provider");
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();

        await ExpectSignedInPageAsync(page);
        Assert.StartsWith(env.RedirectUri + "/", page.Url, StringComparison.Ordinal);
        await GotoStatusAsync(page, env);
        await Expect(Field(StatusPageContract.Account(page, Account), "state")).ToHaveTextAsync(StartsWith("Signed in"));
        Assert.Equal(1, env.Identity.SignInPagesShown);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task ShowDeviceCode_ApprovedFromTheTest_StateTurnsSignedInWithoutAReload()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append: "flow = device_code\n");
        var proxy = await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        await Button(StatusPageContract.Account(page, Account), ShowDeviceCodeButton(Account)).ClickAsync();
        var account = StatusPageContract.Account(page, Account);
        await Expect(Field(account, "user-code")).ToHaveTextAsync(new Regex(@"\S"));
        var code = (await Field(account, "user-code").TextContentAsync())!.Trim();
        Assert.Equal(env.Identity.IssuedUserCodes.Single(), code);
        var verification = env.Identity.Authority + "/devicelogin";
        await Expect(Field(account, "verification-uri")).ToContainTextAsync(verification);
        await Expect(account.Locator($"a[href=\"{verification}\"]")).ToHaveCountAsync(1);
        await Expect(Field(account, "countdown")).ToHaveTextAsync(new Regex(@"\d"));
        await Expect(Field(account, "state")).ToHaveTextAsync(StartsWith("Signing in"));
        await browser.ScreenshotAsync("code-shown");

        // From here on the page must change by itself: a reload or a navigation would lose this mark.
        await page.EvaluateAsync("() => { window.emailproxyTestMark = 'not reloaded'; }");
        var navigations = 0;
        page.FrameNavigated += (_, _) => Interlocked.Increment(ref navigations);
        env.Identity.ApproveDeviceCode(code, Account);
        await proxy.WaitForLineAsync(l => l.Contains($"OAuth2 sign-in of account {Account} with Microsoft succeeded", StringComparison.Ordinal));

        await Expect(Field(account, "state")).ToHaveTextAsync(StartsWith("Signed in"));
        // The facts that changed with it too, not only the state line.
        await Expect(Field(account, "identity")).ToHaveTextAsync(Account);
        await Expect(Field(account, "access-token")).ToHaveTextAsync(StartsWith("valid until "));
        Assert.Equal("not reloaded", await page.EvaluateAsync<string>("() => window.emailproxyTestMark"));
        Assert.Equal(0, Volatile.Read(ref navigations));
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task ForgetTokensButton_InsideItsDetails_AccountNeedsASignInAgain()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;
        await SignInWithButtonAsync(page, env, Account);

        await GotoStatusAsync(page, env);
        var account = StatusPageContract.Account(page, Account);
        await Expect(Field(account, "state")).ToHaveTextAsync(StartsWith("Signed in"));
        // Behind a disclosure, so that it is not clicked by mistake.
        await Expect(Button(account, ForgetButton(Account))).ToBeHiddenAsync();
        var id = await account.GetAttributeAsync("aria-labelledby");
        await account.Locator("details > summary").Filter(new() { HasText = "Forget tokens" }).ClickAsync();
        await Button(account, ForgetButton(Account)).ClickAsync();

        // Back on the status page at the account's section.
        await Expect(page).ToHaveURLAsync(new Regex("/#" + Regex.Escape(id ?? "") + "$"));
        await Expect(Field(StatusPageContract.Account(page, Account), "state")).ToHaveTextAsync(StartsWith("Needs a sign-in"));
        // And so does the proxy: a mail client's login is told to sign in.
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {Account} any-password\r\n");
        Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task FailingAccount_RefreshTokenRefused_ShowsTheErrorWithItsCodeAndTheFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // A short-lived access token: the next login refreshes it first.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(60);
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;
        await SignInWithButtonAsync(page, env, Account);
        env.Identity.FailNextRefreshWith("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.");
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {Account} any-password\r\n");
            Assert.Contains("AADSTS70008", await client.ReadLineAsync(), StringComparison.Ordinal);
        }

        await GotoStatusAsync(page, env);
        var account = StatusPageContract.Account(page, Account);
        // Not signed in any more (the refused login may have prepared a new browser sign-in: "Signing in …").
        await Expect(Field(account, "state")).Not.ToHaveTextAsync(StartsWith("Signed in"));
        await Expect(Field(account, "last-error")).ToContainTextAsync("AADSTS70008");
        await Expect(Field(account, "fix")).ToBeVisibleAsync();
        await Expect(Field(account, "fix")).ToHaveTextAsync(new Regex(@"\w{3,}"));
        // Worded for a person: no trace ids or correlation ids from the provider's answer.
        await Expect(Field(account, "last-error")).Not.ToContainTextAsync("Trace ID");
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Keyboard_TabToSignInAndEnter_ReachesTheProviderAndSignsIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ShowsSignInPage = true;
        env.WriteConfig(append: AccountSection(env, DeviceAccount, "flow = device_code"));
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;
        await GotoStatusAsync(page, env);

        await TabToAsync(page, Button(page, SignInButton(Account)));
        await browser.ScreenshotAsync("focused");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(StartsWith(env.Identity.Authority + "/"));
        await TabToAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }));
        await page.Keyboard.PressAsync("Enter");

        await ExpectSignedInPageAsync(page);
        await GotoStatusAsync(page, env);
        await Expect(Field(StatusPageContract.Account(page, Account), "state")).ToHaveTextAsync(StartsWith("Signed in"));
    }

    [Fact]
    public async Task Buttons_EveryAccountAndAction_HaveDistinctAccessibleNames()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(append: AccountSection(env, DeviceAccount, "flow = device_code"));
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;
        await SignInWithButtonAsync(page, env, Account);
        await GotoStatusAsync(page, env);
        // Closed disclosures hide their buttons from the accessibility tree: open them all.
        await page.EvaluateAsync("() => document.querySelectorAll('details').forEach(d => d.open = true)");

        var snapshot = await page.Locator("body").AriaSnapshotAsync();
        var buttons = AriaButton().Matches(snapshot).Select(m => m.Groups["name"].Success ? m.Groups["name"].Value : "").ToList();

        Assert.DoesNotContain("", buttons);
        Assert.Equal(buttons.Count, buttons.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains(SignInButton(Account), buttons);
        Assert.Contains(ForgetButton(Account), buttons);
        Assert.Contains(ShowDeviceCodeButton(DeviceAccount), buttons);
        // An account without tokens has nothing to forget.
        Assert.DoesNotContain(ForgetButton(DeviceAccount), buttons);
        // Every form field has a label a screen reader reads out.
        foreach (var field in await page.Locator("main input:not([type=hidden]), main textarea, main select").AllAsync())
        {
            Assert.NotEqual("", (await field.EvaluateAsync<string>("e => e.labels && e.labels.length ? e.labels[0].textContent.trim() : (e.getAttribute('aria-label') || '')")));
        }
    }

    [Fact]
    public async Task PasteTheAddress_LocalServerAuthOff_SignsInFromThePastedAddress()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        await Button(StatusPageContract.Account(page, Account), SignInButton(Account)).ClickAsync();
        // Where the provider sent the browser: on a remote proxy this page does not load, but its address holds the code.
        await Expect(page).ToHaveURLAsync(new Regex("[?&]code="));
        var address = page.Url;
        await GotoStatusAsync(page, env);
        var account = StatusPageContract.Account(page, Account);
        await account.GetByLabel($"Address from the browser's address bar for {Account}", new() { Exact = true }).FillAsync(address);
        await Button(account, $"Paste the address for {Account}").ClickAsync();

        await GotoStatusAsync(page, env);
        await Expect(Field(StatusPageContract.Account(page, Account), "state")).ToHaveTextAsync(StartsWith("Signed in"));
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task PhoneViewport_SeveralAccounts_NoHorizontalScroll()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append:
            AccountSection(env, DeviceAccount, "flow = device_code")
            + AccountSection(env, "a.rather.long.mailbox.name-for-the-accounts-team@subsidiary.example.com"));
        await env.StartProxyAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture, BrowserPage.Phone);
        var page = browser.Page;
        await SignInWithButtonAsync(page, env, Account);
        await GotoStatusAsync(page, env);
        await Button(StatusPageContract.Account(page, DeviceAccount), ShowDeviceCodeButton(DeviceAccount)).ClickAsync();
        await Expect(Field(StatusPageContract.Account(page, DeviceAccount), "user-code")).ToHaveTextAsync(new Regex(@"\S"));

        var widths = await page.EvaluateAsync<int[]>("() => [document.scrollingElement.scrollWidth, window.innerWidth]");
        Assert.True(widths[0] <= widths[1], $"the page is {widths[0]} px wide in a {widths[1]} px viewport: it scrolls sideways");
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task ShowThePassword_DeviceCodeTemplateAccountSignedInElsewhere_AppearsWithoutAReloadAndShowsItOnce()
    {
        const string alice = "alice@example.org";
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(AccountSection(env, "*@example.org", "flow = device_code"));
        var proxy = await env.StartProxyAsync();
        // A mail client's login makes the account and starts its device code.
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"a1 LOGIN {alice} anything\r\n");
            Assert.Contains("Show the password", await client.ReadLineAsync(), StringComparison.Ordinal);
        }
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        var account = StatusPageContract.Account(page, alice);
        await Expect(Field(account, "user-code")).ToHaveTextAsync(env.Identity.IssuedUserCodes.Single());
        await Expect(Button(account, ShowPasswordButton(alice))).ToBeHiddenAsync();
        env.Identity.ApproveDeviceCode(env.Identity.IssuedUserCodes.Single(), alice);
        await proxy.WaitForLineAsync(l => l.Contains($"OAuth2 sign-in of account {alice} with Microsoft succeeded", StringComparison.Ordinal));

        // The script shows the button when the code is entered: nobody reloads.
        await Expect(Field(account, "state")).ToHaveTextAsync(new Regex("^Signed in.*its generated password has not been shown yet"));
        await Expect(Button(account, ShowPasswordButton(alice))).ToBeVisibleAsync();
        await browser.ScreenshotAsync("password-waiting");
        await Button(account, ShowPasswordButton(alice)).ClickAsync();

        await Expect(page.Locator("#generated-password")).ToHaveTextAsync(new Regex("^[a-km-np-z2-9]{20}$"));
        await browser.ScreenshotAsync("password-shown");
        await GotoStatusAsync(page, env);
        await Expect(Field(StatusPageContract.Account(page, alice), "state")).ToHaveTextAsync(new Regex("^Signed in(?!.*not been shown)"));
        await Expect(Button(StatusPageContract.Account(page, alice), ShowPasswordButton(alice))).ToBeHiddenAsync();
        Assert.Empty(browser.ScriptErrors);
    }

    /// <summary>Presses Tab until the element has the focus (at most 50 times), as a keyboard user does.</summary>
    private static async Task TabToAsync(IPage page, ILocator target)
    {
        for (var presses = 0; presses < 50; presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await target.EvaluateAsync<bool>("e => e === document.activeElement"))
            {
                return;
            }
        }

        Assert.Fail("50 presses of Tab never reached the element: it is not in the tab order.");
    }

    /// <summary>A button in an aria snapshot (<c>- button "NAME"</c>); a button without a name has no quotes.</summary>
    [GeneratedRegex("""^\s*- button(?: "(?<name>(?:[^"\\]|\\.)*)")?""", RegexOptions.Multiline)]
    private static partial Regex AriaButton();
}
