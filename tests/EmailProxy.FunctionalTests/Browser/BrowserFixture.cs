using Microsoft.Playwright;
using Xunit;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// One headless chromium for all the browser tests (<see cref="SharedBrowser"/>): starting it costs a second or
/// two of the CI's two cores, a new context per test (<see cref="BrowserPage"/>) costs almost nothing and shares no
/// cookies. The browser is Debian's <c>chromium</c> package (installed by <c>.ci/install-test-tools</c>), driven by
/// the node driver that ships inside the Microsoft.Playwright package; no browser is ever downloaded (only
/// <c>playwright.ps1 install</c> would, and nothing calls it). Closed, with the driver, when the collection ends,
/// whether its tests passed or failed.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Overrides where chromium is looked for (a full path to its binary).</summary>
    public const string ExecutableVariable = "EMAILPROXY_TEST_CHROMIUM";

    /// <summary>
    /// How long an action or an expectation waits (clicks, navigations, <c>Expect(...)</c>): generous, because
    /// the CI's two cores are shared with the other functional tests. A passing test never waits it out.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // The real binary first: /usr/bin/chromium is Debian's shell wrapper around it, which adds a process
    // between the driver and the browser and reads /etc/chromium.d.
    private static readonly string[] Candidates = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    public async Task InitializeAsync()
    {
        var executable = FindChromium();
        _playwright = await Playwright.CreateAsync();
        Assertions.SetDefaultExpectTimeout((float)Timeout.TotalMilliseconds);
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = executable,
            Headless = true,
            // The tests run as root in CI, and chromium's sandbox refuses to start as root: it runs with
            // --no-sandbox (Playwright's default, said here on purpose). It only opens pages of the test's
            // own servers on 127.0.0.1.
            ChromiumSandbox = false,
            Timeout = (float)Timeout.TotalMilliseconds,
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
            await _browser.DisposeAsync();
            _browser = null;
        }

        _playwright?.Dispose();
        _playwright = null;
    }

    private static string FindChromium()
    {
        if (Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } chosen)
        {
            return File.Exists(chosen) ? chosen : throw new FileNotFoundException($"{ExecutableVariable} names no file: {chosen}", chosen);
        }

        return Candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                "The browser tests need Debian's chromium package: run `bash .ci/install-test-tools` as root "
                + $"(or set {ExecutableVariable} to a chromium binary).");
    }
}
