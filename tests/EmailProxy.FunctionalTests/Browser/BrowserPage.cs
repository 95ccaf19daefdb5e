using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// One test's browser: a new context (no cookies or storage from other tests) with one page, and on dispose —
/// also when the test failed — a full-page screenshot in the test output folder,
/// <c>screenshots/&lt;TestClass&gt;.&lt;TestMethod&gt;.png</c>, then the context closed. Console errors and uncaught
/// script errors of the page are kept for <see cref="ScriptErrors"/> (a script the Content-Security-Policy blocks
/// shows up there).
/// </summary>
internal sealed class BrowserPage : IAsyncDisposable
{
    /// <summary>A laptop screen.</summary>
    public static readonly ViewportSize Laptop = new() { Width = 1280, Height = 800 };

    /// <summary>A phone held upright (an iPhone 12–15's CSS pixels).</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private static readonly float ScreenshotTimeout = 10_000;

    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    private BrowserPage(IBrowserContext context, IPage page, string name)
    {
        _context = context;
        Page = page;
        Name = name;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add(error);
            }
        };
    }

    /// <summary>The folder the screenshots go to: <c>screenshots/</c> beside the test assembly.</summary>
    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public IPage Page { get; }

    /// <summary><c>TestClass.TestMethod</c>: the screenshot's file name.</summary>
    public string Name { get; }

    /// <summary>Where the screenshot of the end of the test is saved.</summary>
    public string ScreenshotPath => Path.Combine(ScreenshotFolder, Name + ".png");

    /// <summary>
    /// The page's console errors and uncaught script errors so far, without the browser's own lines about a
    /// response's status code (an expected 401 or 404 page logs one).
    /// </summary>
    public IReadOnlyList<string> ScriptErrors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors.Where(error => !error.StartsWith("Failed to load resource: the server responded with a status of", StringComparison.Ordinal))];
            }
        }
    }

    /// <summary>A new context and page in the shared browser, named after the calling test (its file and method).</summary>
    public static async Task<BrowserPage> OpenAsync(
        BrowserFixture fixture,
        ViewportSize? viewport = null,
        [CallerMemberName] string test = "",
        [CallerFilePath] string file = "")
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var context = await fixture.Browser.NewContextAsync(new()
        {
            ViewportSize = viewport ?? Laptop,
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout((float)BrowserFixture.Timeout.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)BrowserFixture.Timeout.TotalMilliseconds);
        try
        {
            var page = await context.NewPageAsync();
            var className = Path.GetFileNameWithoutExtension(file.Replace('\\', '/').Split('/')[^1]);
            return new BrowserPage(context, page, $"{className}.{test}");
        }
        catch
        {
            await context.CloseAsync();
            throw;
        }
    }

    /// <summary>A screenshot now, beside the final one: <c>screenshots/&lt;Name&gt;-&lt;step&gt;.png</c>.</summary>
    public async Task<string> ScreenshotAsync(string step)
    {
        var path = Path.Combine(ScreenshotFolder, $"{Name}-{step}.png");
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true, Timeout = ScreenshotTimeout });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Page.ScreenshotAsync(new() { Path = ScreenshotPath, FullPage = true, Timeout = ScreenshotTimeout });
        }
        catch (PlaywrightException)
        {
            // A page that cannot be pictured (crashed, closed) must not hide the test's own failure.
        }
        catch (TimeoutException)
        {
            // Same.
        }
        finally
        {
            await _context.CloseAsync();
        }
    }
}
