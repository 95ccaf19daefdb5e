using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// The real proxy's HTTP listener with admin_password set: a person logs in through the form and is let in by
/// the cookie, a wrong password is refused and logged without it, and requests far too large are refused by
/// the listener's limits with the right status while it goes on serving.
/// </summary>
public sealed partial class AdminLoginTests : IDisposable
{
    private const string Password = "the admin's pass phrase";
    private readonly string _folder = Directory.CreateTempSubdirectory("emailproxy-admin-").FullName;
    private readonly int _port = TestEnvironment.GetFreePort();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private readonly int _imapPort = TestEnvironment.GetFreePort();
    private readonly int _smtpPort = TestEnvironment.GetFreePort();

    private string ConfigPath => Path.Combine(_folder, "emailproxy.config");

    /// <summary>The configuration with this admin_password value (and metrics_token, when given).</summary>
    private string Config(string hash, string? metricsToken = null) => $"""
            [general]
            local_tls = off
            redirect_uri = http://127.0.0.1:{_port}
            admin_password = {hash}
            {(metricsToken is null ? "" : $"metrics_token = {metricsToken}")}
            imap_listen = 127.0.0.1:{_imapPort}
            smtp_listen = 127.0.0.1:{_smtpPort}

            [server s]
            imap_host = imap.example.com

            [account open@example.com]
            client_id = id

            """;

    /// <summary>Starts the proxy with admin_password (hashed by <c>emailproxy hash-password</c>, as an operator does).</summary>
    private async Task<ProxyProcess> StartAsync(string? metricsToken = null)
    {
        var hash = await ProxyProcess.HashPasswordAsync(Password);
        var path = ConfigPath;
        await File.WriteAllTextAsync(path, Config(hash, metricsToken));
        var proxy = new ProxyProcess(path, workingDirectory: _folder);
        try
        {
            await proxy.StartAsync();
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
        return proxy;
    }

    /// <summary>A browser: its own cookies, no redirects followed, asking for HTML.</summary>
    private HttpClient Browser()
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{_port}"),
        };
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        return client;
    }

    private static Uri Relative(string target) => new(target, UriKind.Relative);

    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string target, string pageWithForm, params (string Name, string Value)[] fields)
    {
        var token = WebUtility.HtmlDecode(CsrfField().Match(pageWithForm).Groups[1].Value);
        using var content = new FormUrlEncodedContent([KeyValuePair.Create("__csrf", token), .. fields.Select(f => KeyValuePair.Create(f.Name, f.Value))]);
        return await browser.PostAsync(Relative(target), content);
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [Fact]
    public async Task Login_ThroughTheForm_TheCookieOpensThePageUntilLogout()
    {
        await using var proxy = await StartAsync();
        using var browser = Browser();

        using var first = await browser.GetAsync(Relative("/"));
        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal("/login", first.Headers.Location?.OriginalString);
        var form = await browser.GetStringAsync(Relative("/login"));
        Assert.Contains("<label for=\"admin-password\">Admin password</label>", form, StringComparison.Ordinal);

        using var wrong = await PostFormAsync(browser, "/login", form, ("password", "not the pass phrase"), ("return", "/"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("<p role=\"alert\" class=\"error\">Wrong password</p>", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await proxy.WaitForLineAsync(l => l.Contains("A wrong admin_password from 127.0.0.1 for /login", StringComparison.Ordinal));

        using var right = await PostFormAsync(browser, "/login", form, ("password", Password), ("return", "/"));
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal("/", right.Headers.Location?.OriginalString);
        var page = await browser.GetStringAsync(Relative("/"));
        Assert.Contains("open@example.com", page, StringComparison.Ordinal);

        // The Log out button's form (on the login page while logged in), then the page is closed again.
        var loggedIn = await browser.GetStringAsync(Relative("/login"));
        using var logout = await PostFormAsync(browser, "/logout", loggedIn);
        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        using var after = await browser.GetAsync(Relative("/"));
        Assert.Equal(HttpStatusCode.SeeOther, after.StatusCode);

        Assert.All(proxy.Output, l => Assert.DoesNotContain("pass phrase", l, StringComparison.Ordinal));
    }

    /// <summary>
    /// An operator who rotates a leaked admin password or metrics token reloads: the old ones stop working at once, the
    /// cookies of the old password's logins included, and the new ones work, without a restart.
    /// </summary>
    [Fact]
    public async Task Reload_AdminPasswordAndMetricsTokenRotated_OldOnesRefusedAtOnceNewOnesWork()
    {
        const string oldToken = "old-metrics-token-0123456789";
        const string newToken = "new-metrics-token-0123456789";
        await using var proxy = await StartAsync(oldToken);
        using var browser = Browser();
        var form = await browser.GetStringAsync(Relative("/login"));
        using (var login = await PostFormAsync(browser, "/login", form, ("password", Password), ("return", "/")))
        {
            Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        }
        using (var page = await browser.GetAsync(Relative("/")))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await MetricsStatusAsync(oldToken));

        const string rotated = "the rotated pass phrase";
        var temporary = ConfigPath + ".new";
        await File.WriteAllTextAsync(temporary, Config(await ProxyProcess.HashPasswordAsync(rotated), newToken));
        File.Move(temporary, ConfigPath, overwrite: true);
        await proxy.SendSignalAsync("HUP");
        await proxy.WaitForLineAsync(l => l.Contains("Configuration reloaded (", StringComparison.Ordinal) && l.Contains("admin_password", StringComparison.Ordinal));

        using (var cookieOfTheOldPassword = await browser.GetAsync(Relative("/")))
        {
            Assert.Equal(HttpStatusCode.SeeOther, cookieOfTheOldPassword.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await MetricsStatusAsync(oldToken));
        Assert.Equal(HttpStatusCode.OK, await MetricsStatusAsync(newToken));
        form = await browser.GetStringAsync(Relative("/login"));
        using (var old = await PostFormAsync(browser, "/login", form, ("password", Password), ("return", "/")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }
        using (var right = await PostFormAsync(browser, "/login", form, ("password", rotated), ("return", "/")))
        {
            Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        }
        using (var page = await browser.GetAsync(Relative("/")))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }
        Assert.All(proxy.Output, l => Assert.DoesNotContain("metrics-token-0123456789", l, StringComparison.Ordinal));
    }

    private async Task<HttpStatusCode> MetricsStatusAsync(string token)
    {
        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/metrics"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await scraper.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Request_FarTooLarge_RefusedWithItsStatusAndTheListenerServesOn()
    {
        await using var proxy = await StartAsync();
        using var browser = Browser();
        var form = await browser.GetStringAsync(Relative("/login"));

        // Kestrel refuses these before any of the proxy's code runs: a bare status, no page.
        using var longQuery = await browser.GetAsync(Relative("/?q=" + new string('x', 10 * 1024)));
        using var bigHeader = new HttpRequestMessage(HttpMethod.Get, Relative("/healthz"));
        bigHeader.Headers.Add("X-Padding", new string('x', 40 * 1024));
        using var bigHeaderResponse = await browser.SendAsync(bigHeader);
        // A body past 64 KiB (of fields each within the form reader's limits) is refused while the form is read: a page.
        using var bigBody = await PostFormAsync(browser, "/login", form, ("password", Password), ("a", new string('x', 40 * 1024)), ("b", new string('x', 40 * 1024)));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, longQuery.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, bigHeaderResponse.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigBody.StatusCode);
        Assert.Contains("<h1>Too large</h1>", await bigBody.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(bigBody.Headers.Contains("Set-Cookie") ? bigBody.Headers.GetValues("Set-Cookie").FirstOrDefault(c => c.StartsWith("emailproxy-admin=", StringComparison.Ordinal)) : null);
        using var fresh = new HttpClient();
        Assert.Equal("ok\n", await fresh.GetStringAsync(new Uri($"http://127.0.0.1:{_port}/healthz")));
    }
}
