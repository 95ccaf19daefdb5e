using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// A device code through <c>emailproxy auth</c>, as an operator on a server without a browser runs it (standard
/// input and error pipes, as <c>docker exec -i</c> gives them): the command prints where to enter which code, the
/// test enters it at the fake identity server as the person would, and the command ends with who signed in. With a
/// running proxy the proxy does the sign-in through its control endpoints and its next login succeeds without a
/// restart; without one the command stores the token and a proxy started afterwards uses it.
/// </summary>
public sealed partial class AuthDeviceCodeTests
{
    private static string TokenFile(TestEnvironment env) => Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json");

    /// <summary>An environment whose identity server hands out 1 s poll intervals; <paramref name="deviceCodeFlow"/> puts <c>flow = device_code</c> on the account.</summary>
    private static async Task<TestEnvironment> CreateAsync(bool deviceCodeFlow)
    {
        var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append: deviceCodeFlow ? "flow = device_code\n" : null);
        return env;
    }

    private static ProxyProcess Auth(TestEnvironment env, params string[] arguments)
    {
        var process = env.CreateProxy(extraArguments: ["auth", TestEnvironment.Account, .. arguments]);
        process.Launch();
        return process;
    }

    /// <summary>The verification URL and user code of the command's instruction line, as a person reads them.</summary>
    private static async Task<(string Url, string Code)> InstructionAsync(ProxyProcess auth)
    {
        var line = await auth.WaitForLineAsync(l => OpenAndEnter().IsMatch(l));
        Assert.StartsWith($"To sign in account {TestEnvironment.Account}, open ", line, StringComparison.Ordinal);
        Assert.Contains($"(sign in as {TestEnvironment.Account})", line, StringComparison.Ordinal);
        var match = OpenAndEnter().Match(line);
        return (match.Groups[1].Value, match.Groups[2].Value);
    }

    private static async Task AssertSignedInAsync(ProxyProcess auth, TestEnvironment env, string code)
    {
        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains($"Signed in as {TestEnvironment.Account}", auth.Output);
        // The progress line went to redirected standard error as a plain line (not rewritten in place).
        Assert.Contains(auth.StandardError, l => l.StartsWith("waiting for the sign-in… ", StringComparison.Ordinal) && l.EndsWith(" left", StringComparison.Ordinal));
        Assert.DoesNotContain(auth.Output, l => l.Contains('\r', StringComparison.Ordinal));
        // The device code (the secret half) is never printed; the user code is the one handed out.
        Assert.Equal(code, Assert.Single(env.Identity.IssuedUserCodes));
        Assert.DoesNotContain(auth.Output, l => l.Contains("fake-dc-", StringComparison.Ordinal));
        Assert.Contains(env.Identity.TokenRequests, r => r.GrantType == FakeIdentityServer.DeviceCodeGrant && r.StatusCode == 200);
        Assert.Equal(0, env.Identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task Auth_DeviceCodeFlowProxyRunning_ApprovedCodeSignsInAndTheNextLoginSucceedsWithoutRestart()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);
        var proxy = await env.StartProxyAsync();

        var auth = Auth(env);
        var (url, code) = await InstructionAsync(auth);
        Assert.Equal($"{env.Identity.Authority}/devicelogin", url);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        await AssertSignedInAsync(auth, env, code);
        // The running proxy polled and stored the token (its log says so), and uses it at once.
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_DeviceCodeFlowProxyRunningAfterALoginStartedACode_JoinsThatCode()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);
        var proxy = await env.StartProxyAsync();
        string refused;
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"j1 LOGIN {TestEnvironment.Account} x\r\n");
            refused = await client.ReadLineAsync() ?? "";
        }
        var fromLogin = OpenAndEnter().Match(refused).Groups[2].Value;

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        Assert.Equal(fromLogin, code);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        await AssertSignedInAsync(auth, env, code);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_DeviceCodeOptionOnABrowserAccountProxyRunning_ApprovedCodeSignsInAndTheNextLoginSucceeds()
    {
        await using var env = await CreateAsync(deviceCodeFlow: false);
        var proxy = await env.StartProxyAsync();

        var auth = Auth(env, "--device-code");
        var (_, code) = await InstructionAsync(auth);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        await AssertSignedInAsync(auth, env, code);
        Assert.Empty(env.Identity.AuthorizeRequests);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_DeviceCodeFlowNoProxy_ApprovedCodeStoresTheTokenAndAProxyStartedAfterLogsIn()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        await AssertSignedInAsync(auth, env, code);
        Assert.True(File.Exists(TokenFile(env)));
        var requests = env.Identity.TokenRequests.Count;

        await env.StartProxyAsync();
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        // The stored access token served the login: no new sign-in, no second device code.
        Assert.Single(env.Identity.IssuedUserCodes);
        Assert.Equal(requests, env.Identity.TokenRequests.Count);
    }

    [Fact]
    public async Task Auth_DeviceCodeOptionNoProxy_ApprovedCodeSignsIn()
    {
        await using var env = await CreateAsync(deviceCodeFlow: false);

        var auth = Auth(env, "--device-code");
        var (_, code) = await InstructionAsync(auth);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        await AssertSignedInAsync(auth, env, code);
        Assert.True(File.Exists(TokenFile(env)));
    }

    [Fact]
    public async Task Auth_DeviceCodeDeclinedProxyRunning_OneLineExitFailureNothingStoredAndTheNextLoginStillNeedsASignIn()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);
        var proxy = await env.StartProxyAsync();

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        env.Identity.DeclineDeviceCode(code);

        Assert.Equal(1, await auth.WaitForExitAsync());
        AssertOneDeclinedLine(auth);
        Assert.False(File.Exists(TokenFile(env)));
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"d1 LOGIN {TestEnvironment.Account} x\r\n");
        var refused = await client.ReadLineAsync() ?? "";
        Assert.Contains("needs an OAuth2 sign-in", refused, StringComparison.Ordinal);
        Assert.Contains("the last sign-in failed", refused, StringComparison.Ordinal);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_DeviceCodeDeclinedNoProxy_OneLineExitFailureAndNothingStored()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        env.Identity.DeclineDeviceCode(code);

        Assert.Equal(1, await auth.WaitForExitAsync());
        AssertOneDeclinedLine(auth);
        Assert.False(File.Exists(TokenFile(env)));
    }

    [Fact]
    public async Task Auth_DeviceCodeApprovedAsSomeoneElseProxyRunning_OneLineNamingWhoExitFailureAndNothingStored()
    {
        const string Bob = "bob@example.com";
        await using var env = await CreateAsync(deviceCodeFlow: true);
        var proxy = await env.StartProxyAsync();

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        env.Identity.ApproveDeviceCode(code, Bob);

        Assert.Equal(1, await auth.WaitForExitAsync());
        var error = Assert.Single(auth.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains($"signed in as {Bob}, but this account is {TestEnvironment.Account}", error, StringComparison.Ordinal);
        Assert.DoesNotContain(auth.Output, l => l.StartsWith("Signed in as", StringComparison.Ordinal));
        Assert.False(File.Exists(TokenFile(env)));
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Auth_DeviceCodeExpiredNoProxy_OneLineSayingSoExitFailureAndNothingStored()
    {
        await using var env = await CreateAsync(deviceCodeFlow: true);

        var auth = Auth(env);
        var (_, code) = await InstructionAsync(auth);
        env.Identity.ExpireDeviceCode(code);

        Assert.Equal(1, await auth.WaitForExitAsync());
        var error = Assert.Single(auth.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains("expired", error, StringComparison.Ordinal);
        Assert.Contains("new code", error, StringComparison.Ordinal);
        Assert.False(File.Exists(TokenFile(env)));
    }

    /// <summary>Exactly one error line, saying the person declined and that the next login (or auth) starts a new code.</summary>
    private static void AssertOneDeclinedLine(ProxyProcess auth)
    {
        var error = Assert.Single(auth.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains("declined", error, StringComparison.Ordinal);
        Assert.Contains("new code", error, StringComparison.Ordinal);
        Assert.DoesNotContain(auth.Output, l => l.StartsWith("Signed in as", StringComparison.Ordinal));
        Assert.DoesNotContain(auth.Output, l => l.Contains("fake-dc-", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"open (https?://\S+) and enter (\S+)")]
    private static partial Regex OpenAndEnter();
}
