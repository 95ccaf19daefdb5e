using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// The bad input of issue 12 that only shows with the real proxy process: a device code handed out by a proxy that
/// was restarted before it was entered, an <c>emailproxy auth</c> left waiting by a proxy that stopped, an empty or
/// damaged token file, and a client certificate that is not its key's. Each gets one clear line and leaves nothing
/// stored that should not be; every wait is bounded (the infrastructure's safety timeouts).
/// </summary>
public sealed partial class SignInBadInputTests
{
    private static string TokenFile(TestEnvironment env) => Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json");

    /// <summary>An environment whose account has <c>flow = device_code</c> and whose identity server hands out 1 s poll intervals.</summary>
    private static async Task<TestEnvironment> CreateDeviceCodeAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append: "flow = device_code\n");
        return env;
    }

    /// <summary>Runs <c>emailproxy --config FILE ARGS…</c> as a process of the environment (killed with it).</summary>
    private static ProxyProcess Command(TestEnvironment env, params string[] arguments)
    {
        var process = env.CreateProxy(extraArguments: arguments);
        process.Launch();
        return process;
    }

    /// <summary>An IMAP login that is refused; returns the refusal's text.</summary>
    private static async Task<string> RefusedLoginAsync(TestEnvironment env)
    {
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"r1 LOGIN {TestEnvironment.Account} x\r\n");
        var refused = await client.ReadUntilAsync(l => l.StartsWith("r1 ", StringComparison.Ordinal));
        Assert.StartsWith("r1 NO", refused, StringComparison.Ordinal);
        return refused;
    }

    private static string UserCodeIn(string text)
    {
        var match = OpenAndEnter().Match(text);
        Assert.True(match.Success, $"no 'open URL and enter CODE' in: {text}");
        return match.Groups[2].Value;
    }

    /// <summary>Nothing that looks like a stack trace or an unhandled exception in what the process printed.</summary>
    private static void AssertNoStackTrace(ProxyProcess process)
    {
        Assert.DoesNotContain(process.Output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(process.Output, l => l.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(process.Output, l => l.Contains("Exception:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Login_DeviceCodeFromBeforeARestartApprovedOrExpired_NextLoginGetsANewCodeAndNothingIsStored(bool approved)
    {
        await using var env = await CreateDeviceCodeAsync();
        var first = await env.StartProxyAsync();
        var old = UserCodeIn(await RefusedLoginAsync(env));
        Assert.Equal(0, await first.StopAsync());

        var proxy = await env.StartProxyAsync();
        if (approved)
        {
            env.Identity.ApproveDeviceCode(old, TestEnvironment.Account);
        }
        else
        {
            env.Identity.ExpireDeviceCode(old);
        }

        var refused = await RefusedLoginAsync(env);
        var fresh = UserCodeIn(refused);
        Assert.NotEqual(old, fresh);
        Assert.Equal([old, fresh], env.Identity.IssuedUserCodes);
        Assert.Contains("needs an OAuth2 sign-in", refused, StringComparison.Ordinal);
        Assert.False(File.Exists(TokenFile(env)));

        // The new proxy polls the new code only: the old one (approved or not) is never redeemed. Once the new code is
        // approved and its sign-in has succeeded, the new code has been polled and the old one still has not.
        env.Identity.ApproveDeviceCode(fresh, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));
        var redeemed = Assert.Single(env.Identity.DevicePolls, p => p.Answer == "tokens");
        Assert.Equal(fresh, redeemed.UserCode);
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("fake-dc-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auth_ProxyStopsWhileItsDeviceCodeIsWaiting_OneLineExitFailureAndNothingStored()
    {
        await using var env = await CreateDeviceCodeAsync();
        var proxy = await env.StartProxyAsync();
        var auth = Command(env, "auth", TestEnvironment.Account);
        var code = UserCodeIn(await auth.WaitForLineAsync(l => OpenAndEnter().IsMatch(l)));

        Assert.Equal(0, await proxy.StopAsync());
        // Approved after the stop: nobody polls it any more, so it signs nothing in.
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);

        Assert.Equal(1, await auth.WaitForExitAsync());
        var error = Assert.Single(auth.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.True(error.Contains("the proxy stopped", StringComparison.Ordinal) || (error.Contains("did not answer", StringComparison.Ordinal) && error.Contains("run the command again", StringComparison.Ordinal)), error);
        Assert.DoesNotContain(auth.Output, l => l.StartsWith("Signed in as", StringComparison.Ordinal));
        AssertNoStackTrace(auth);
        Assert.False(File.Exists(TokenFile(env)));
        Assert.DoesNotContain(env.Identity.DevicePolls, p => p.Answer == "tokens");
    }

    public static TheoryData<string, string, bool> DamagedFiles()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var proxyRunning in (bool[])[true, false])
        {
            data.Add("empty", "the token file is damaged (it is not a token file's JSON)", proxyRunning);
            data.Add("garbage", "the token file is damaged (it is not a token file's JSON)", proxyRunning);
            data.Add("undecryptable", "the token file does not decrypt with this master key (or its secrets are damaged)", proxyRunning);
        }
        return data;
    }

    /// <summary>The bytes of a damaged token file of the kind named.</summary>
    private static byte[] DamagedFile(string kind) => kind switch
    {
        "empty" => [],
        "garbage" => "{\"format\": 1, \"account\": \"user@exa"u8.ToArray(),
        // Well-formed, but its secrets are random bytes no key opens (as after the key was replaced, or bits flipped).
        "undecryptable" => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["format"] = 1,
            ["account"] = TestEnvironment.Account,
            ["username"] = TestEnvironment.Account,
            ["flow"] = "DeviceCode",
            ["scope"] = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
            ["saved"] = DateTimeOffset.UtcNow,
            ["secrets"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(96)),
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// The file is damaged when the proxy starts (as after a crash on a disk that lost the write, an edit by hand, or a
    /// replaced key). With <paramref name="proxyRunning"/> auth goes through the running proxy; without, the operator has
    /// stopped it (the first start made the key) and auth stores the token itself, and a proxy started afterwards uses it.
    /// </summary>
    [Theory]
    [MemberData(nameof(DamagedFiles))]
    public async Task TokensShowThenAuth_DamagedTokenFile_OneLineSaysWhatIsWrongAuthReplacesItKeepingACopyAndTheLoginSucceeds(string kind, string reason, bool proxyRunning)
    {
        await using var env = await CreateDeviceCodeAsync();
        var damaged = DamagedFile(kind);
        Directory.CreateDirectory(env.TokenDirectory);
        await File.WriteAllBytesAsync(TokenFile(env), damaged);
        var proxy = await env.StartProxyAsync();
        if (!proxyRunning)
        {
            Assert.Equal(0, await proxy.StopAsync());
        }
        Assert.Equal(damaged, await File.ReadAllBytesAsync(TokenFile(env)));

        var show = Command(env, "tokens", "show", TestEnvironment.Account);
        Assert.True(await show.WaitForExitAsync() == 0, show.Describe());
        var state = Assert.Single(show.Output, l => l.Contains("needs sign-in", StringComparison.Ordinal));
        Assert.Contains(reason, state, StringComparison.Ordinal);
        AssertNoStackTrace(show);

        var auth = Command(env, "auth", TestEnvironment.Account);
        var code = UserCodeIn(await auth.WaitForLineAsync(l => OpenAndEnter().IsMatch(l)));
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);
        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains($"Signed in as {TestEnvironment.Account}", auth.Output);
        AssertNoStackTrace(auth);

        // The damaged file was kept beside the new one (TokenFileStore.KeepDamagedCopy), byte for byte.
        var copy = Assert.Single(Directory.GetFiles(env.TokenDirectory, TestEnvironment.Account + ".json.damaged-*"));
        Assert.Equal(damaged, await File.ReadAllBytesAsync(copy));
        Assert.NotEqual(damaged, await File.ReadAllBytesAsync(TokenFile(env)));

        var after = Command(env, "tokens", "show", TestEnvironment.Account);
        Assert.True(await after.WaitForExitAsync() == 0, after.Describe());
        Assert.Contains(after.Output, l => l.Trim() == "state:          signed in");
        if (!proxyRunning)
        {
            proxy = await env.StartProxyAsync();
        }
        await using var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        Assert.Single(env.Identity.IssuedUserCodes);
        Assert.False(proxy.HasExited);
    }

    /// <summary>Writes a certificate made with one RSA key and, as its client_key, a different RSA key.</summary>
    private static void WriteMismatchedCertificate(TestEnvironment env)
    {
        using var certificateKey = RSA.Create(2048);
        using var otherKey = RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=emailproxy mismatched test", certificateKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(Path.Combine(env.Directory, "app.crt.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(env.Directory, "other.key.pem"), otherKey.ExportPkcs8PrivateKeyPem());
    }

    [Fact]
    public async Task CheckAndRun_ClientCertificateNotOfItsKey_OneLineNamingSectionAndKeyAndNothingStored()
    {
        await using var env = await TestEnvironment.CreateAsync();
        WriteMismatchedCertificate(env);
        env.WriteConfig(transform: text => text.Replace(
            "scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            "flow = client_credentials\nclient_certificate = app.crt.pem\nclient_key = other.key.pem",
            StringComparison.Ordinal));
        var expected = $"[account {TestEnvironment.Account}] client_key: the key in {Path.Combine(env.Directory, "other.key.pem")} is not the key of the certificate in {Path.Combine(env.Directory, "app.crt.pem")}";

        var check = Command(env, "check");
        Assert.Equal(1, await check.WaitForExitAsync());
        var error = Assert.Single(check.Output, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: " + expected, error, StringComparison.Ordinal);
        AssertNoStackTrace(check);

        var run = Command(env, "run");
        Assert.Equal(2, await run.WaitForExitAsync());
        var refused = Assert.Single(run.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains(expected, refused, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Output, l => l.Contains(ProxyProcess.StartedMarker, StringComparison.Ordinal));
        Assert.DoesNotContain(run.Output, l => l.Contains("PRIVATE KEY", StringComparison.Ordinal));
        AssertNoStackTrace(run);
        Assert.False(Directory.Exists(env.TokenDirectory) && Directory.EnumerateFiles(env.TokenDirectory).Any());
        Assert.Empty(env.Identity.TokenRequests);
    }

    [GeneratedRegex(@"open (https?://\S+) and enter (\S+)")]
    private static partial Regex OpenAndEnter();
}
