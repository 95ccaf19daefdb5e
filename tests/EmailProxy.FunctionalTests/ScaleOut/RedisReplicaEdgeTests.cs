using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// The edges of sharing one Redis (issue 18): the CLI where no proxy runs (<c>auth</c> stores into Redis, <c>tokens show</c>
/// reads from it), a template account's generated password shown once by whichever replica's status page is asked, and a
/// reload that changes an account's OAuth settings ending its sign-in on every replica.
/// </summary>
public sealed partial class RedisReplicaEdgeTests(RedisReplicaEdgeFixture fixture) : IClassFixture<RedisReplicaEdgeFixture>
{
    [Fact]
    public async Task AuthOffline_TokenStoreRedis_ReplicaLogsInWithoutASignInAndTokensShowReadsRedis()
    {
        const string account = RedisReplicaEdgeFixture.OfflineAccount;
        var set = fixture.Set;
        var b = set.Replicas[1];
        // A host where no proxy runs: its own token folder, the replicas' Redis, key and password.
        var offlineConfig = Path.Combine(fixture.Environment.Directory, "offline.ini");
        await File.WriteAllTextAsync(offlineConfig, (await File.ReadAllTextAsync(b.ConfigPath)).Replace(b.Directory, Path.Combine(fixture.Environment.Directory, "offline"), StringComparison.Ordinal));

        await using (var auth = new ProxyProcess(offlineConfig, set.ProcessEnvironment, ["auth", account, "--device-code"]))
        {
            auth.Launch();
            var line = await auth.WaitForLineAsync(l => OpenAndEnter().IsMatch(l));
            fixture.Environment.Identity.ApproveDeviceCode(OpenAndEnter().Match(line).Groups[1].Value, account);
            Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        }

        var login = await ScaleOutSteps.ImapLoginAsync(b.ImapPort, account);
        Assert.True(login.StartsWith("l1 OK", StringComparison.Ordinal), login + "\n" + b.Process.Describe());
        Assert.False(Directory.Exists(Path.Combine(fixture.Environment.Directory, "offline", "tokens"))
            && Directory.GetFiles(Path.Combine(fixture.Environment.Directory, "offline", "tokens"), "*.json").Length > 0, "auth wrote a token file");

        var (exit, output) = await ScaleOutSteps.RunCliAsync(set, "tokens", "show", account, "--config", offlineConfig);
        Assert.True(exit == 0, output);
        Assert.Contains("signed in", output, StringComparison.Ordinal);
        Assert.Contains($"token record:   Redis key emailproxy:tokens:{account} at {set.Redis.Address}", output, StringComparison.Ordinal);
        Assert.DoesNotContain(set.Redis.Password!, output, StringComparison.Ordinal);

        // Redis away: one line naming it, and a failure, not "needs sign-in".
        var nowhere = Path.Combine(fixture.Environment.Directory, "nowhere.ini");
        var closedPort = TestEnvironment.GetFreePort();
        await File.WriteAllTextAsync(nowhere, (await File.ReadAllTextAsync(offlineConfig)).Replace($"redis = {set.Redis.Address}", $"redis = 127.0.0.1:{closedPort}", StringComparison.Ordinal));
        var (awayExit, awayOutput) = await ScaleOutSteps.RunCliAsync(set, "tokens", "list", "--config", nowhere);
        Assert.True(awayExit == 1, awayOutput);
        Assert.Contains($"Redis at 127.0.0.1:{closedPort} cannot be reached", awayOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShowPassword_DeviceCodeTemplateSignInEndedOnA_TakenOnceThroughBThenCSaysNoneWaits()
    {
        const string account = "ann@" + RedisReplicaEdgeFixture.TemplateDomain;
        var (a, b, c) = (fixture.Set.Replicas[0], fixture.Set.Replicas[1], fixture.Set.Replicas[2]);
        await using var waiting = await LineClient.ConnectAsync(a.ImapPort);
        await waiting.ReadLineAsync();
        await waiting.WriteAsync($"w1 LOGIN {account} anything\r\n");
        var logged = await a.Process.WaitForLineAsync(line => line.Contains($"OAuth2 sign-in needed for account {account}", StringComparison.Ordinal) && UserCode().IsMatch(line));
        fixture.Environment.Identity.ApproveDeviceCode(UserCode().Match(logged).Groups[1].Value, account);
        await a.Process.WaitForLineAsync(line => line.Contains($"OAuth2 sign-in of account {account} with Microsoft succeeded", StringComparison.Ordinal));
        using var browserB = Browser();
        // B lists the account made from the template once it has heard the end, which A publishes after its own log line.
        var status = WebUtility.HtmlDecode(await browserB.GetStringAsync(new Uri(b.HttpAddress, "/")));
        for (var attempt = 0; attempt < 100 && !status.Contains("its generated password has not been shown yet", StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            status = WebUtility.HtmlDecode(await browserB.GetStringAsync(new Uri(b.HttpAddress, "/")));
        }
        Assert.Contains("its generated password has not been shown yet", status, StringComparison.Ordinal);
        using var shown = await PressAsync(browserB, b, account, "password");
        var page = await shown.Content.ReadAsStringAsync();
        Assert.True(shown.StatusCode == HttpStatusCode.OK, page);
        var password = GeneratedPassword().Match(page).Groups[1].Value;
        Assert.Equal(20, password.Length);

        using var browserC = Browser();
        using var again = await PressAsync(browserC, c, account, "password");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Contains("No password to show", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("\"password_waiting\":false", await Browser().GetStringAsync(new Uri(a.HttpAddress, "/status.json")), StringComparison.Ordinal);
        // The password shown through B opens the account on C.
        await using var client = await LineClient.ConnectAsync(c.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {account} {password}\r\n");
        Assert.StartsWith("l1 OK", await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_OAuthSettingsChangedOnA_SignInStartedOnBEndsEverywhereAndItsRedirectIsNotRedeemed()
    {
        const string account = RedisReplicaEdgeFixture.ReloadedAccount;
        var (a, b, c) = (fixture.Set.Replicas[0], fixture.Set.Replicas[1], fixture.Set.Replicas[2]);
        var identity = fixture.Environment.Identity;
        await using var waiting = await LineClient.ConnectAsync(b.ImapPort);
        await waiting.ReadLineAsync();
        await waiting.WriteAsync($"w1 LOGIN {account} {ScaleOutSteps.Password}\r\n");
        var logged = await b.Process.WaitForLineAsync(line => line.Contains($"OAuth2 sign-in needed for account {account}", StringComparison.Ordinal) && Url().IsMatch(line));
        var redirect = await ProviderRedirectAsync(new Uri(Url().Match(logged).Value));
        var codesBefore = identity.AuthorizationCodeRequests;

        var before = RedisReplicaEdgeFixture.AccountSection(fixture.Environment, account);
        var text = await File.ReadAllTextAsync(a.ConfigPath);
        Assert.Contains(before, text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(a.ConfigPath, text.Replace(before,
            RedisReplicaEdgeFixture.AccountSection(fixture.Environment, account, scope: "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access"), StringComparison.Ordinal));
        var (exit, output) = await ScaleOutSteps.RunCliAsync(fixture.Set, "reload", "--config", a.ConfigPath);
        Assert.True(exit == 0, output);

        // The redirect lands on C, which did not reload: nothing is left to redeem.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
        using var landed = await http.GetAsync(new UriBuilder(redirect) { Port = c.HttpPort }.Uri);
        var page = await landed.Content.ReadAsStringAsync();
        Assert.True(landed.StatusCode == HttpStatusCode.BadRequest, $"{landed.StatusCode}: {page}");
        Assert.Equal(codesBefore, identity.AuthorizationCodeRequests);
        // B's waiting login hears why at once.
        var answer = await waiting.ReadUntilAsync(line => line.StartsWith("w1 ", StringComparison.Ordinal));
        Assert.True(answer.StartsWith("w1 NO", StringComparison.Ordinal) && answer.Contains("settings changed", StringComparison.Ordinal), answer);
    }

    private static HttpClient Browser() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false, CookieContainer = new CookieContainer() }) { Timeout = ObservableLog.DefaultTimeout };

    /// <summary>Presses an account's button on a replica's status page: a POST with the page's anti-forgery field and cookie, as a browser's.</summary>
    private static async Task<HttpResponseMessage> PressAsync(HttpClient browser, Replica replica, string account, string action)
    {
        var page = await browser.GetStringAsync(replica.HttpAddress);
        var token = WebUtility.HtmlDecode(FormToken().Match(page).Groups[1].Value);
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", token)]);
        return await browser.PostAsync(new Uri(replica.HttpAddress, $"/accounts/{Uri.EscapeDataString(account)}/{action}"), form);
    }

    /// <summary>What the person's browser does at the provider: the authorize URL answers with the redirect to the public redirect URI.</summary>
    private static async Task<Uri> ProviderRedirectAsync(Uri authorize)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
        using var response = await http.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return new Uri(authorize, response.Headers.Location!);
    }

    [GeneratedRegex(@"open \S+ and enter (\S+) ")]
    private static partial Regex OpenAndEnter();

    [GeneratedRegex(@"enter ([A-Z0-9-]+) ")]
    private static partial Regex UserCode();

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex Url();

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex FormToken();

    [GeneratedRegex("<code id=\"generated-password\">([a-z2-9]{20})</code>")]
    private static partial Regex GeneratedPassword();
}
