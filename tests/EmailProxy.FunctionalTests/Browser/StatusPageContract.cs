using Microsoft.Playwright;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// How a person (and a screen reader) finds things on the proxy's status page: an account is a region named after
/// it, its live values are marked with <c>data-field</c>, and each action is a button whose accessible name says
/// which account it acts on. One place for what the browser tests rely on.
/// </summary>
internal static class StatusPageContract
{
    /// <summary>The account's <c>&lt;section aria-labelledby&gt;</c>, found by its heading's exact text.</summary>
    public static ILocator Account(IPage page, string name) =>
        page.GetByRole(AriaRole.Region, new() { Name = name, Exact = true });

    /// <summary>One of the account's values: state, user-code, verification-uri, countdown, last-error, fix.</summary>
    public static ILocator Field(ILocator account, string field) => account.Locator($"[data-field=\"{field}\"]");

    public static ILocator Button(ILocator scope, string name) =>
        scope.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    public static ILocator Button(IPage page, string name) =>
        page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    public static string SignInButton(string account) => $"Sign in {account}";

    public static string ShowDeviceCodeButton(string account) => $"Show device code for {account}";

    public static string ForgetButton(string account) => $"Forget tokens of {account}";

    /// <summary>A template account's generated password, once, after a sign-in that ended with nobody shown it (a device code).</summary>
    public static string ShowPasswordButton(string account) => $"Show the password of {account}";
}
