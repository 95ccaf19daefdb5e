using System.Net;
using System.Net.Http.Headers;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>
/// <c>emailproxy auth</c>, <c>tokens clear</c> and the control endpoints, run as an operator runs them
/// (a process with standard input a pipe, as <c>docker exec -i</c> gives it), with and without a running
/// proxy, against the fake identity server and the fake Exchange.
/// </summary>
public sealed class AuthCommandTests
{
    private const string Password = "any-Pa55word";

    /// <summary>The configuration with <c>local_server_auth = false</c>: nothing listens for the redirect but the paste.</summary>
    private static string WithoutLocalServer(string text) =>
        text.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal);

    /// <summary>Runs <c>emailproxy --config FILE ARGS…</c> as a process of the environment (killed with it).</summary>
    private static ProxyProcess Command(TestEnvironment env, params string[] arguments)
    {
        var process = env.CreateProxy(extraArguments: arguments);
        process.Launch();
        return process;
    }

    /// <summary>
    /// What the person does with the URL auth printed: opens it, signs in, and copies the address the
    /// browser ends on (here: the fake provider's redirect, not followed, as when nothing answers there).
    /// </summary>
    private static async Task<string> BrowserEndsOnAsync(ProxyProcess auth)
    {
        var line = await auth.WaitForLineAsync(l => l.StartsWith("http", StringComparison.Ordinal) && l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false });
        using var response = await http.GetAsync(new Uri(line.Trim()));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.AbsoluteUri;
        Assert.Contains("code=", location, StringComparison.Ordinal);
        return location;
    }

    private static string CodeOf(string address) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(address).Query)["code"].ToString();

    private static void AssertNoSecretIn(ProxyProcess process, TestEnvironment env, string? code)
    {
        var text = process.Describe();
        if (code is not null)
        {
            Assert.DoesNotContain(code, text, StringComparison.Ordinal);
        }
        foreach (var request in env.Identity.TokenRequests)
        {
            foreach (var secret in (string[])["code", "code_verifier", "refresh_token", "client_secret", "client_assertion"])
            {
                if (request.Form.TryGetValue(secret, out var value) && value.Length > 0)
                {
                    Assert.DoesNotContain(value, text, StringComparison.Ordinal);
                }
            }
        }
    }

    private static async Task LoginRefusedAsync(TestEnvironment env)
    {
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {TestEnvironment.Account} {Password}\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        Assert.StartsWith("l1 NO", answer, StringComparison.Ordinal);
        Assert.Contains("sign-in", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_NoProxyRunning_PastedAddressOnStandardInputSignsInAndTheProxyThenLogsIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: WithoutLocalServer);
        // An empty (damaged) token file: auth replaces it.
        Directory.CreateDirectory(env.TokenDirectory);
        await File.WriteAllTextAsync(Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json"), "");

        var auth = Command(env, "auth", TestEnvironment.Account);
        var address = await BrowserEndsOnAsync(auth);
        await auth.SendLineAsync($"  \"{address}\"  ");

        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains(auth.Output, l => l.StartsWith("Signed in as ", StringComparison.Ordinal) && l.Contains(TestEnvironment.Account, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(auth.StandardError, l => l.Contains("waiting for the sign-in…", StringComparison.Ordinal) && l.Contains(" left", StringComparison.Ordinal));
        AssertNoSecretIn(auth, env, CodeOf(address));
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.True(File.Exists(Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json")));

        await env.StartProxyAsync();
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task Auth_NoProxyRunning_SameAddressTwice_SecondIsRefusedAndTheFirstTokenStays()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: WithoutLocalServer);
        var first = Command(env, "auth", TestEnvironment.Account);
        var address = await BrowserEndsOnAsync(first);
        await first.SendLineAsync(address);
        Assert.True(await first.WaitForExitAsync() == 0, first.Describe());
        var saved = await File.ReadAllBytesAsync(Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json"));

        var second = Command(env, "auth", TestEnvironment.Account);
        await second.WaitForLineAsync(l => l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        await second.SendLineAsync(address);

        Assert.Equal(1, await second.WaitForExitAsync());
        var error = Assert.Single(second.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains("unknown or expired", error, StringComparison.Ordinal);
        Assert.Equal(saved, await File.ReadAllBytesAsync(Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json")));
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task Auth_ProxyRunning_PasteGoesThroughTheControlEndpointAndTheNextLoginSucceedsWithoutRestart()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: WithoutLocalServer);
        var proxy = await env.StartProxyAsync();
        await LoginRefusedAsync(env);

        var auth = Command(env, "auth", TestEnvironment.Account);
        var address = await BrowserEndsOnAsync(auth);
        await auth.SendLineAsync(address);

        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains(auth.Output, l => l.StartsWith("Signed in as ", StringComparison.Ordinal));
        AssertNoSecretIn(auth, env, CodeOf(address));
        // The proxy redeemed the code (its log says so), and uses the token at once.
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account", StringComparison.Ordinal) && l.Contains("succeeded", StringComparison.Ordinal));
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_ProxyRunningWithLocalServer_TheServedRedirectCompletesItWithoutAPaste()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();

        var auth = Command(env, "auth", TestEnvironment.Account);
        var line = await auth.WaitForLineAsync(l => l.StartsWith("http", StringComparison.Ordinal) && l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseProxy = false }))
        {
            Assert.Contains("signed in", await http.GetStringAsync(new Uri(line.Trim())), StringComparison.Ordinal);
        }

        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains(auth.Output, l => l.StartsWith("Signed in as ", StringComparison.Ordinal));
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
    }

    [Fact]
    public async Task Tokens_ProxyRunning_ListShowAndClearAndTheNextLoginNeedsASignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await LoginRefusedAsync(env);
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
        await using (var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
        }

        var list = Command(env, "tokens", "list");
        Assert.Equal(0, await list.WaitForExitAsync());
        Assert.Contains(list.Output, l => l.Trim() == "state:          signed in");
        var show = Command(env, "tokens", "show", TestEnvironment.Account, "--json");
        Assert.Equal(0, await show.WaitForExitAsync());
        Assert.Contains(show.Output, l => l.Contains("\"state\": \"signed-in\"", StringComparison.Ordinal));
        AssertNoSecretIn(list, env, null);
        AssertNoSecretIn(show, env, null);

        var clear = Command(env, "tokens", "clear", TestEnvironment.Account);
        Assert.True(await clear.WaitForExitAsync() == 0, clear.Describe());
        Assert.Contains(clear.Output, l => l.Contains("the running proxy forgot them", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json")));

        await LoginRefusedAsync(env);
        var after = Command(env, "tokens", "show", TestEnvironment.Account);
        Assert.Equal(0, await after.WaitForExitAsync());
        Assert.Contains(after.Output, l => l.Contains("needs sign-in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ControlEndpoints_ProxyRunning_RefuseWithoutTheTokenAndTheFileIsPrivateAndRemovedAtStop()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        var tokenFile = Path.Combine(Path.GetDirectoryName(env.TokenDirectory)!, "control.token");
        var token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        }
        Assert.DoesNotContain(token, proxy.Describe(), StringComparison.Ordinal);
        var target = new Uri($"{env.RedirectUri}/api/accounts/{Uri.EscapeDataString(TestEnvironment.Account)}/signin");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false });

        async Task<HttpStatusCode> PostAsync(string? bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target);
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("not-" + token));
        Assert.DoesNotContain(proxy.Output, l => l.Contains("OAuth2 sign-in needed", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(token));

        Assert.Equal(0, await proxy.StopAsync());
        Assert.False(File.Exists(tokenFile));
    }
}
