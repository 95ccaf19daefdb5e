using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static EmailProxy.FunctionalTests.Browser.BrowserScenario;
using static EmailProxy.FunctionalTests.Browser.StatusPageContract;
using static Microsoft.Playwright.Assertions;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// <c>admin_password</c> as a person meets it in a browser: the status page sends to the login form, the right
/// password opens the page (and a "Log out" button), a wrong one is refused with "Wrong password".
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class AdminLoginBrowserTests(BrowserFixture fixture)
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task Login_RightPassword_ShowsTheStatusPageWithLogOut()
    {
        await using var env = await StartAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        await Expect(page).ToHaveURLAsync(StartsWith(env.RedirectUri + "/login"));
        await page.GetByLabel("Admin password", new() { Exact = true }).FillAsync(Password);
        await Button(page, "Log in").ClickAsync();

        await Expect(page).ToHaveURLAsync(env.RedirectUri + "/");
        await Expect(Field(Account(page, TestEnvironment.Account), "state")).ToHaveTextAsync(StartsWith("Needs a sign-in"));
        await Expect(Button(page, "Log out")).ToBeVisibleAsync();
        Assert.Empty(browser.ScriptErrors);
    }

    [Fact]
    public async Task Login_WrongPassword_RefusedWithWrongPasswordAndNoPage()
    {
        await using var env = await StartAsync();
        await using var browser = await BrowserPage.OpenAsync(fixture);
        var page = browser.Page;

        await GotoStatusAsync(page, env);
        await page.GetByLabel("Admin password", new() { Exact = true }).FillAsync("not the password");
        var answer = await page.RunAndWaitForResponseAsync(
            () => Button(page, "Log in").ClickAsync(),
            response => response.Request.Method == "POST" && response.Url.StartsWith(env.RedirectUri + "/login", StringComparison.Ordinal));

        Assert.Equal(401, answer.Status);
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Wrong password");
        // Still only the form: no account is shown.
        await Expect(Account(page, TestEnvironment.Account)).ToHaveCountAsync(0);
        await Expect(page.GetByLabel("Admin password", new() { Exact = true })).ToBeVisibleAsync();
    }

    private static async Task<TestEnvironment> StartAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        try
        {
            var hash = await ProxyProcess.HashPasswordAsync(Password);
            env.WriteConfig(transform: t => t.Replace("[general]\n", $"[general]\nadmin_password = {hash}\n", StringComparison.Ordinal));
            await env.StartProxyAsync();
            return env;
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }
}
