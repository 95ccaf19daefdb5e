using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.Playwright;
using static EmailProxy.FunctionalTests.Browser.StatusPageContract;
using static Microsoft.Playwright.Assertions;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>What several browser tests set up or do the same way: more accounts, the status page, a sign-in by button.</summary>
internal static class BrowserScenario
{
    /// <summary>An <c>[account NAME]</c> section on the environment's fake servers, with <paramref name="extra"/> lines.</summary>
    public static string AccountSection(TestEnvironment env, string name, string extra = "") =>
        $"""

        [account {name}]
        client_id = {env.Identity.ClientId}
        tenant = {env.Identity.Tenant}
        authority = {env.Identity.Authority}
        server = {TestEnvironment.ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access
        {extra}

        """;

    /// <summary>Opens the status page <c>/</c>.</summary>
    public static async Task GotoStatusAsync(IPage page, TestEnvironment env) => await page.GotoAsync(env.RedirectUri + "/");

    /// <summary>
    /// Signs the account in as a person does: the status page's "Sign in NAME" button, the provider's "Accept" when
    /// the fake shows its page, and the proxy's "Signed in" page at the end.
    /// </summary>
    public static async Task SignInWithButtonAsync(IPage page, TestEnvironment env, string account)
    {
        await GotoStatusAsync(page, env);
        await Button(Account(page, account), SignInButton(account)).ClickAsync();
        if (env.Identity.ShowsSignInPage)
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Accept", Exact = true }).ClickAsync();
        }

        await ExpectSignedInPageAsync(page);
    }

    /// <summary>The proxy's page at the end of a browser sign-in that worked.</summary>
    public static async Task ExpectSignedInPageAsync(IPage page) =>
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Signed in", Exact = true, Level = 1 })).ToBeVisibleAsync();

    /// <summary>A state text as the contract words it: "Signed in …", "Needs a sign-in …".</summary>
    public static Regex StartsWith(string text) => new("^" + Regex.Escape(text));
}
