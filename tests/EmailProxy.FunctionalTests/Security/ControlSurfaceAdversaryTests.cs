using System.Net;
using System.Net.Sockets;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// Findings of the adversarial review of issue 12's new surfaces (control endpoints, <c>emailproxy auth</c>,
/// device code): each test reproduces one confirmed weakness and states the behaviour that should hold.
/// </summary>
public sealed class ControlSurfaceAdversaryTests
{
    private static ProxyProcess Command(TestEnvironment env, params string[] arguments)
    {
        var process = env.CreateProxy(extraArguments: arguments);
        process.Launch();
        return process;
    }

    /// <summary>
    /// The bearer check matches <c>/api</c> case-sensitively (<c>StartsWithSegments(..., Ordinal)</c>) while the
    /// router matches routes case-insensitively: <c>/API/accounts/NAME/forget</c> reaches the endpoint with no
    /// bearer at all. Without admin_password (the loopback default) any web page the operator opens can POST
    /// there cross-site (a "simple" text/plain request) and wipe an account's tokens, or start sign-ins.
    /// </summary>
    [Theory]
    [InlineData("/API/accounts/{0}/forget")]
    [InlineData("/Api/accounts/{0}/forget")]
    [InlineData("/x/../API/accounts/{0}/forget")]
    public async Task ControlEndpoints_PrefixInAnotherCase_RefusedWithoutTheBearerAndTokensKept(string pathFormat)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"l1 LOGIN {TestEnvironment.Account} any-Pa55word\r\n");
            await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        }
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
        var tokenFile = Path.Combine(env.TokenDirectory, TestEnvironment.Account + ".json");
        Assert.True(File.Exists(tokenFile));

        // What a web page's form or fetch(..., {mode: "no-cors"}) sends: no Authorization header, text/plain, a foreign Origin.
        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, pathFormat, Uri.EscapeDataString(TestEnvironment.Account));
        var status = await RawPostAsync(env.HttpPort, path);

        Assert.True(status is 401 or 403 or 404, $"{path} answered {status} without the bearer token");
        Assert.True(File.Exists(tokenFile), "the account's token file was removed by a request without the bearer token");
        Assert.DoesNotContain(proxy.Output, l => l.Contains("were forgotten", StringComparison.Ordinal));
    }

    /// <summary>
    /// A proxy killed with -9 (or a crashed container) leaves control.token behind and lets its instance lock go.
    /// <c>emailproxy auth</c> then trusts whatever listens on the proxy's HTTP port: it sends that program the
    /// bearer token, and prints what it answers as the sign-in to do (here a device code of the impostor's
    /// choosing: a code phishing that hands the mailbox's tokens to whoever asked for that code) and its
    /// "Signed in as". Any local user can bind 127.0.0.1:18089 while the proxy is down. The instance lock is
    /// free, so no proxy of this token folder runs: auth should sign in offline and never contact the port.
    /// </summary>
    [Fact]
    public async Task Auth_StaleControlTokenAndAnotherProgramOnTheProxyPort_SendsItNothingAndSignsInOffline()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        var stale = Path.Combine(Path.GetDirectoryName(env.TokenDirectory)!, "control.token");
        await File.WriteAllTextAsync(stale, "stale-token-of-a-killed-proxy\n");

        using var impostor = new TcpListener(IPAddress.Loopback, env.HttpPort);
        impostor.Start();
        var heard = new StringBuilder();
        using var stop = new CancellationTokenSource();
        var serving = ServeImpostorAsync(impostor, heard, stop.Token);

        var auth = Command(env, "auth", TestEnvironment.Account);
        // Offline, the command prints the identity server's authorize URL; hijacked, the impostor's device code.
        var first = await auth.WaitForLineAsync(l => l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal) || l.Contains("IMPOSTOR", StringComparison.Ordinal));
        await stop.CancelAsync();
        impostor.Stop();
        await serving;

        string text;
        lock (heard)
        {
            text = heard.ToString();
        }
        Assert.DoesNotContain("stale-token-of-a-killed-proxy", text, StringComparison.Ordinal);
        Assert.DoesNotContain("IMPOSTOR", first, StringComparison.Ordinal);
        Assert.Contains("/oauth2/v2.0/authorize", first, StringComparison.Ordinal);
    }

    /// <summary>
    /// A device authorization whose expires_in is longer than a .NET timer can wait (about 49.7 days; a provider
    /// answering garbage) makes the offline <c>emailproxy auth</c> die with an unhandled
    /// ArgumentOutOfRangeException and its stack trace instead of waiting (or saying one line).
    /// </summary>
    [Fact]
    public async Task Auth_DeviceCodeExpiresInBeyondTimerRange_WaitsAndSignsInWithoutAnUnhandledException()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.Identity.DeviceCodeLifetime = TimeSpan.FromDays(60);
        env.WriteConfig(append: "flow = device_code\n");

        var auth = Command(env, "auth", TestEnvironment.Account);
        await auth.WaitForLineAsync(l => l.Contains(" and enter ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));
        if (env.Identity.IssuedUserCodes.Count == 1 && !auth.HasExited)
        {
            env.Identity.ApproveDeviceCode(env.Identity.IssuedUserCodes[0], TestEnvironment.Account);
        }
        var exit = await auth.WaitForExitAsync();

        Assert.DoesNotContain(auth.StandardError, l => l.Contains("Unhandled exception", StringComparison.Ordinal));
        Assert.True(exit == 0, auth.Describe());
        Assert.Contains(auth.Output, l => l.StartsWith("Signed in as ", StringComparison.Ordinal));
    }

    /// <summary>
    /// An offline <c>emailproxy auth</c> holds the token folder while the person signs in; a proxy started
    /// meanwhile (a container restarting, a service manager) loads its (empty) token state at once and, once
    /// auth is done and it takes the folder ("control.token is written"), never reads the token auth stored:
    /// every login keeps answering "it has no token yet" until the proxy is restarted, although auth said
    /// "Signed in as". The proxy should pick up the stored token once it holds the folder (or at the next login).
    /// </summary>
    [Fact]
    public async Task Auth_OfflineWhileAProxyStarts_TheProxyUsesTheStoredTokenOnceItHoldsTheFolder()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        var auth = Command(env, "auth", TestEnvironment.Account);
        var url = (await auth.WaitForLineAsync(l => l.StartsWith("http", StringComparison.Ordinal) && l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal))).Trim();

        var proxy = await env.StartProxyAsync();
        await proxy.WaitForLineAsync(l => l.Contains("Another process holds the token folder", StringComparison.Ordinal));

        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }))
        using (var response = await http.GetAsync(new Uri(url)))
        {
            await auth.SendLineAsync(response.Headers.Location!.AbsoluteUri);
        }
        Assert.True(await auth.WaitForExitAsync() == 0, auth.Describe());
        Assert.Contains(auth.Output, l => l.StartsWith("Signed in as ", StringComparison.Ordinal));
        await proxy.WaitForLineAsync(l => l.Contains("is this proxy's now; control.token is written", StringComparison.Ordinal));

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {TestEnvironment.Account} any-Pa55word\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        Assert.StartsWith("l1 OK", answer, StringComparison.Ordinal);
    }

    /// <summary>
    /// The pasted address is read with <c>Console.In.ReadLine()</c>, which keeps reading until a line end: a
    /// stream with no newline (a binary file given by mistake, <c>yes | tr -d '\n'</c>) is held in memory whole
    /// (400 MB of input took the process to 2.6 GB resident) before the 8 KiB limit is applied, and the command
    /// sits waiting. Text past the limit cannot be an address: the command should say so at once.
    /// </summary>
    [Fact]
    public async Task Auth_LineLongerThanThePasteLimitWithoutALineEnd_RefusedWithoutWaitingForTheLineEnd()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [ProxyProcess.DllPath, "--config", env.ConfigPath, "auth", TestEnvironment.Account])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        try
        {
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEndAsync();
            // 64 KiB without a line end, and standard input left open (as a pipe that keeps going would be).
            await process.StandardInput.WriteAsync(new string('A', 64 * 1024));
            await process.StandardInput.FlushAsync();

            using var within = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var exited = true;
            try
            {
                await process.WaitForExitAsync(within.Token);
            }
            catch (OperationCanceledException)
            {
                exited = false;
            }
            Assert.True(exited, "auth still waits for the end of a line longer than any address");
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("longer than 8 KiB", await errors, StringComparison.Ordinal);
            await output;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>
    /// While one offline <c>emailproxy auth</c> waits for its paste (up to 10 minutes) it holds the token folder's
    /// instance lock; a second <c>auth</c> (or <c>tokens clear</c>) then says "a proxy is running on the token
    /// folder … its control endpoint cannot be reached: there is no control.token" although no proxy runs at
    /// all, and sends the operator after a proxy that does not exist. The proxy's own warning for the same lock
    /// names the likely holder ("emailproxy auth signing in without the proxy"); the command should too.
    /// </summary>
    [Fact]
    public async Task Auth_WhileAnotherOfflineAuthWaits_TheRefusalDoesNotClaimAProxyIsRunning()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        var first = Command(env, "auth", TestEnvironment.Account);
        await first.WaitForLineAsync(l => l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));

        var second = Command(env, "auth", TestEnvironment.Account);
        Assert.Equal(1, await second.WaitForExitAsync());

        var error = Assert.Single(second.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.DoesNotContain("a proxy is running", error, StringComparison.Ordinal);
        Assert.Contains("emailproxy auth", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// With a running proxy, a pasted line over the control endpoints' 16 KiB body limit is not refused by the
    /// paste's own 8 KiB rule: the proxy's JSON reader meets Kestrel's BadHttpRequestException, which escapes the
    /// endpoint (only JsonException is caught), so the proxy logs "An unhandled exception was thrown by the
    /// application" with a stack trace at error level, and the command prints "answered 413 Payload Too Large"
    /// instead of the one line a 10 KiB paste gets ("longer than 8 KiB").
    /// </summary>
    [Fact]
    public async Task Auth_ProxyRunning_PastedLineOverTheBodyLimit_SaysTheLimitAndTheProxyLogsNoUnhandledException()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: t => t.Replace("[general]\n", "[general]\nlocal_server_auth = false\n", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        var auth = Command(env, "auth", TestEnvironment.Account);
        await auth.WaitForLineAsync(l => l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));

        await auth.SendLineAsync($"{env.RedirectUri}/?code=c&state=s&pad={new string('A', 20 * 1024)}");

        Assert.Equal(1, await auth.WaitForExitAsync());
        var error = Assert.Single(auth.StandardError, l => l.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains("longer than 8 KiB", error, StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The control endpoints read a body that does not parse as "no body": <c>{"method": </c> (cut off), or a
    /// JSON array, starts the account's default sign-in with 200 instead of answering 400, so a script whose
    /// request was mangled starts a sign-in it did not ask for (and, with duplicate keys, the last one wins).
    /// </summary>
    [Theory]
    [InlineData("{\"method\": ")]
    [InlineData("[[[[")]
    public async Task ControlEndpoints_SignInWithABodyThatDoesNotParse_Answers400AndStartsNothing(string body)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        var token = (await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(env.TokenDirectory)!, "control.token"))).Trim();
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{env.RedirectUri}/api/accounts/{Uri.EscapeDataString(TestEnvironment.Account)}/signin"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("OAuth2 sign-in needed", StringComparison.Ordinal));
    }

    /// <summary>A POST as a cross-site page sends it: no Authorization, Content-Type text/plain, a foreign Origin. Returns the status code.</summary>
    private static async Task<int> RawPostAsync(int port, string path)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = tcp.GetStream();
        const string Body = "{}";
        var request = $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: {Body.Length}\r\nConnection: close\r\n\r\n{Body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync() ?? "";
        var parts = status.Split(' ');
        return parts.Length > 1 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : -1;
    }

    /// <summary>A program that took the proxy's port: records every request and answers as the control endpoints would, with its own device code.</summary>
    private static async Task ServeImpostorAsync(TcpListener listener, StringBuilder heard, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(cancellationToken);
                await using var stream = client.GetStream();
                var buffer = new byte[16 * 1024];
                var read = await stream.ReadAsync(buffer, cancellationToken);
                var request = Encoding.ASCII.GetString(buffer, 0, read);
                lock (heard)
                {
                    heard.Append(request);
                }
                var body = request.StartsWith("GET", StringComparison.Ordinal)
                    ? """{"state":"pending","message":"waiting","expires_at":"2030-01-01T00:00:00+00:00"}"""
                    : """{"id":"x","account":"user@example.com","method":"device_code","expires_at":"2030-01-01T00:00:00+00:00","verification_uri":"https://microsoft.com/devicelogin","user_code":"IMPOSTOR1"}""";
                var response = $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
                await stream.WriteAsync(Encoding.UTF8.GetBytes(response), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // Stopped by the test.
        }
    }
}
