using System.Text;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Pop3;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Pop3;

/// <summary>
/// POP3 through the real emailproxy to an Exchange-like server that takes only XOAUTH2 over implicit
/// TLS, from clients that only know USER/PASS, AUTH PLAIN and AUTH LOGIN.
/// </summary>
public sealed class Pop3ProxyTests
{
    private const string Password = "any-Pa55word";
    private const string LoggedIn = "+OK Logged in through Email OAuth2 Proxy";
    private const string LogInFirst = "-ERR Log in first: USER/PASS or AUTH PLAIN/LOGIN";

    [Fact]
    public async Task Login_SeedStory_SignsInOnceThenRetrievesAndDeletesByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var big = LargeWithDotLines(3 * 1024 * 1024);
        env.Pop.AddMessage(big);
        var proxy = await env.StartProxyAsync();

        // First login: no token yet. MailKit hides the server's words, so the raw transcript shows them.
        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password));
        }
        await using (var raw = await LineClient.ConnectAsync(env.PopPort))
        {
            Assert.Equal("+OK Email OAuth2 Proxy POP3 ready", await raw.ReadLineAsync());
            await raw.WriteAsync($"USER {TestEnvironment.Account}\r\n");
            Assert.Equal("+OK Send PASS", await raw.ReadLineAsync());
            await raw.WriteAsync($"PASS {Password}\r\n");
            var refused = await raw.ReadLineAsync();
            Assert.StartsWith("-ERR [AUTH] Account user@example.com needs an OAuth2 sign-in with Microsoft", refused, StringComparison.Ordinal);
            Assert.Contains($"open http://127.0.0.1:{env.HttpPort}/accounts/user%40example.com/signin", refused, StringComparison.Ordinal);
        }
        var logged = await proxy.WaitForLineAsync(l => l.Contains("OAuth2", StringComparison.Ordinal) && l.Contains("Microsoft", StringComparison.Ordinal) && l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        Assert.Contains("info", logged, StringComparison.Ordinal);
        Assert.Equal(0, env.Pop.ConnectionCount);

        var page = await env.SignInAsync(proxy);
        Assert.Contains("signed in", page, StringComparison.Ordinal);
        var authorize = Assert.Single(env.Identity.AuthorizeRequests);
        Assert.Equal(TestEnvironment.Account, authorize.LoginHint);

        // Second login, with USER/PASS only: through to the upstream, which checks the XOAUTH2 token.
        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
            client.AuthenticationMechanisms.Clear();
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            Assert.Equal(1, client.Count);
            Assert.Equal(big.Length, await client.GetMessageSizeAsync(0));
            using (var stream = await client.GetStreamAsync(0))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                Assert.Equal(big.Length, copy.Length);
                Assert.True(big.AsSpan().SequenceEqual(copy.ToArray()), "the message arrives byte for byte");
            }
            await client.DeleteMessageAsync(0);
            Assert.Empty(env.Pop.DeletedMessages);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Equal([1], env.Pop.DeletedMessages);
        Assert.Contains("RETR 1", env.Pop.Commands.Lines);
        Assert.Contains("DELE 1", env.Pop.Commands.Lines);
        Assert.DoesNotContain(env.Pop.Commands.Lines, l => l.StartsWith("USER", StringComparison.Ordinal) || l.StartsWith("PASS", StringComparison.Ordinal));

        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.Equal(1, env.Pop.SuccessfulAuthentications);
        var ended = await proxy.WaitForLineAsync(l => l.Contains("POP3 session from", StringComparison.Ordinal) && l.Contains("relayed", StringComparison.Ordinal));
        Assert.Contains(TestEnvironment.Account, ended, StringComparison.Ordinal);
        Assert.Empty(env.Pop.Errors.Lines);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Login_MailKitWithOneSaslMechanism_RetrievesDotLinesByteExact(string mechanism)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = Encoding.UTF8.GetBytes("Subject: dots ünïcödé\r\n\r\n.\r\n..\r\n.leading dot\r\nGrüße\r\n...\r\n");
        env.Pop.AddMessage(message);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        using (var client = NewClient(env))
        {
            await client.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
            Assert.Contains(mechanism, client.AuthenticationMechanisms);
            client.AuthenticationMechanisms.RemoveWhere(m => m != mechanism);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            Assert.Equal(1, client.Count);
            using (var stream = await client.GetStreamAsync(0))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                Assert.True(message.AsSpan().SequenceEqual(copy.ToArray()), "the message arrives byte for byte");
            }
            await client.DisconnectAsync(quit: true);
        }
        Assert.Empty(env.Pop.DeletedMessages);
        Assert.Contains(proxy.Output, l => l.Contains("POP3", StringComparison.Ordinal) && l.Contains("sent AUTH", StringComparison.Ordinal));
        Assert.DoesNotContain(proxy.Output, l => l.Contains("sent USER", StringComparison.Ordinal));
        Assert.Equal(1, env.Pop.AuthenticationAttempts);
        Assert.Equal(1, env.Pop.SuccessfulAuthentications);
    }

    [Theory]
    [InlineData("USER user@example.com\r\nPASS pa\\ss \"word\"\r\n", "+OK Send PASS", true)]
    [InlineData("USER user@example.com\r\nPASS pa\\ss \"word\"\r\n", "+OK Send PASS", false)]
    [InlineData("user user@example.com\r\npass pa\\ss \"word\"\r\n", "+OK Send PASS", true)]
    [InlineData("AUTH PLAIN AHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", "", false)]
    [InlineData("auth plain AHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", "", false)]
    [InlineData("AUTH PLAIN\r\nAHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", "+ ", true)]
    [InlineData("AUTH PLAIN =\r\nAHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", "+ ", true)]
    [InlineData("AUTH LOGIN\r\ndXNlckBleGFtcGxlLmNvbQ==\r\ncGFcc3MgIndvcmQi\r\n", "+ VXNlcm5hbWU6|+ UGFzc3dvcmQ6", true)]
    [InlineData("AUTH LOGIN\r\ndXNlckBleGFtcGxlLmNvbQ==\r\ncGFcc3MgIndvcmQi\r\n", "+ VXNlcm5hbWU6|+ UGFzc3dvcmQ6", false)]
    [InlineData("AUTH LOGIN dXNlckBleGFtcGxlLmNvbQ==\r\ncGFcc3MgIndvcmQi\r\n", "+ UGFzc3dvcmQ6", true)]
    public async Task Login_EveryForm_ParsesNameAndPasswordWithSpaces(string transcript, string prompts, bool waitForPrompts)
    {
        await using var env = await TestEnvironment.CreateAsync();
        // The password pa\ss "word" is checked against a hash made by the CLI, so a wrong parse fails.
        var hash = await ProxyProcess.HashPasswordAsync("pa\\ss \"word\"");
        env.WriteConfig(transform: text => text.Replace("server = fake", $"server = fake\npassword_hash = {hash}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        var expectedPrompts = prompts.Split('|', StringSplitOptions.RemoveEmptyEntries);
        var lines = transcript.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Length - 1, expectedPrompts.Length);
        if (waitForPrompts)
        {
            // Line by line, waiting for each prompt as a patient client does.
            for (var i = 0; i < lines.Length; i++)
            {
                await client.WriteAsync(lines[i] + "\r\n");
                if (i < lines.Length - 1)
                {
                    Assert.Equal(expectedPrompts[i], await client.ReadLineAsync());
                }
            }
        }
        else
        {
            // All at once, as a pipelining client does: the prompts still come, in order.
            await client.WriteAsync(transcript);
            foreach (var prompt in expectedPrompts)
            {
                Assert.Equal(prompt, await client.ReadLineAsync());
            }
        }
        Assert.Equal(LoggedIn, await client.ReadLineAsync());

        // Relayed from here on: the upstream's maildrop answers.
        await client.WriteAsync("STAT\r\n");
        Assert.Equal("+OK 0 0", await client.ReadLineAsync());
        await client.WriteAsync("QUIT\r\n");
        Assert.Equal(FakeExchangePop3Server.SigningOff, await client.ReadLineAsync());
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(1, env.Pop.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Login_WrongPasswordWithHash_IsRefusedAndTheSessionGoesOn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var hash = await ProxyProcess.HashPasswordAsync("right");
        env.WriteConfig(transform: text => text.Replace("server = fake", $"server = fake\npassword_hash = {hash}", StringComparison.Ordinal));
        await env.StartProxyAsync();

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        await client.WriteAsync("PASS wrong\r\n");
        Assert.StartsWith("-ERR [AUTH] Wrong login name or password", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"AUTH PLAIN {B64($"\0{TestEnvironment.Account}\0wrong")}\r\n");
        Assert.StartsWith("-ERR [AUTH] Wrong login name or password", await client.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Empty(env.Identity.AuthorizeRequests);
        Assert.Equal(0, env.Pop.ConnectionCount);

        // The USER was used up by the failed PASS.
        await client.WriteAsync("PASS right\r\n");
        Assert.Equal("-ERR Send USER first", await client.ReadLineAsync());
        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Login_UnknownAccount_SaysWhichSectionToAdd()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync("USER stranger@example.com\r\nPASS x\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        Assert.Equal("-ERR [AUTH] There is no account 'stranger@example.com' in the proxy's configuration: add an [account stranger@example.com] section to emailproxy.ini (the proxy reads the file again when it is saved)", await client.ReadLineAsync());
        Assert.Equal(0, env.Pop.ConnectionCount);
    }

    [Fact]
    public async Task Login_AccessTokenNearExpiry_RefreshesOnceAndSucceeds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // A token with less than the proxy's 5-minute margin left is refreshed before use.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var session = await LoginAsync(env);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        var refresh = env.Identity.TokenRequests.Last(r => r.GrantType == "refresh_token");
        Assert.Equal(env.Identity.ClientId, refresh.Form["client_id"]);
        Assert.Equal(1, env.Pop.AuthenticationAttempts);
        Assert.Equal(1, env.Pop.SuccessfulAuthentications);
        await proxy.WaitForLineAsync(l => l.Contains("refreshed", StringComparison.Ordinal) && l.Contains("rotated: True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_UpstreamRejectsTokenOnce_RefreshesAndRetries()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Pop.RejectNextAuthentications(1);

        await using var session = await LoginAsync(env);
        Assert.Equal(2, env.Pop.AuthenticationAttempts);
        Assert.Equal(1, env.Pop.SuccessfulAuthentications);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        var tokens = env.Pop.XOAuth2Strings.Select(s => s.Split("auth=Bearer ")[1]).ToList();
        Assert.NotEqual(tokens[0], tokens[1]);
        Assert.All(env.Pop.XOAuth2Strings, s => Assert.StartsWith($"user={TestEnvironment.Account}\u0001", s, StringComparison.Ordinal));

        await session.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await session.ReadLineAsync());
    }

    [Fact]
    public async Task Login_UpstreamRejectsTwice_AnswersAuthErrorWithTheUpstreamsWordsAndAHint()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Pop.RejectNextAuthentications(2);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS {Password}\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("-ERR [AUTH] Account user@example.com:", answer, StringComparison.Ordinal);
        Assert.Contains("\"Authentication failure: unknown user name or bad password.\"", answer, StringComparison.Ordinal);
        Assert.Contains("POP.AccessAsUser.All", answer, StringComparison.Ordinal);
        Assert.Equal(2, env.Pop.AuthenticationAttempts);
        Assert.Equal(0, env.Pop.SuccessfulAuthentications);

        // The session goes on: the client may try again, and now the upstream accepts.
        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await client.ReadLineAsync());
        await client.WriteAsync($"AUTH PLAIN {B64($"\0{TestEnvironment.Account}\0{Password}")}\r\n");
        Assert.Equal(LoggedIn, await client.ReadLineAsync());
    }

    [Fact]
    public async Task Login_GmailStyleJsonChallenge_AnsweredByTheProxyAndOneClearError()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Pop.GmailStyleChallenge = true;
        env.Pop.RejectNextAuthentications(2);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"AUTH PLAIN {B64($"\0{TestEnvironment.Account}\0{Password}")}\r\n");
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("-ERR [AUTH] Account user@example.com:", answer, StringComparison.Ordinal);
        Assert.Contains("Invalid credentials.", answer, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"401\"", answer, StringComparison.Ordinal);
        Assert.Equal(2, env.Pop.AuthenticationAttempts);
        Assert.Equal(2, env.Pop.Commands.Lines.Count(l => l == "(answer to the challenge: 0 characters)"));

        // One line only, and the session goes on.
        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Login_UpstreamDown_AnswersSysTempNamingHostAndPort()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var deadPort = TestEnvironment.GetFreePort();
        env.WriteConfig(transform: text => text.Replace($"pop_port = {env.Pop.Port}", $"pop_port = {deadPort}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS {Password}\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        var answer = await client.ReadLineAsync();
        Assert.StartsWith($"-ERR [SYS/TEMP] Account user@example.com: cannot connect to 127.0.0.1:{deadPort}", answer, StringComparison.Ordinal);
        Assert.Contains("refused", answer, StringComparison.Ordinal);

        await client.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Login_PipelinedCommandsBehindPass_GoUpstreamOnlyAfterItsOk()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Pop.AddMessage("Subject: one\r\n\r\nbody\r\n"u8.ToArray());
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS {Password}\r\nSTAT\r\nDELE 1\r\nQUIT\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        Assert.Equal(LoggedIn, await client.ReadLineAsync());
        Assert.Equal("+OK 1 22", await client.ReadLineAsync());
        Assert.Equal("+OK", await client.ReadLineAsync());
        Assert.Equal(FakeExchangePop3Server.SigningOff, await client.ReadLineAsync());
        Assert.True(await client.IsClosedByServerAsync());

        Assert.Equal([1], env.Pop.DeletedMessages);
        var upstream = env.Pop.Commands.Lines.ToList();
        Assert.True(upstream.IndexOf("AUTH XOAUTH2") < upstream.IndexOf("STAT"), "STAT goes upstream only after the login");
    }

    [Fact]
    public async Task Commands_BeforeLogin_AnsweredByTheProxy()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // STLS offered, so that the whole CAPA list is checked.
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = off\npop_tls = starttls"));
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.PopPort);
        Assert.Equal("+OK Email OAuth2 Proxy POP3 ready", await client.ReadLineAsync());

        async Task<string?> SendAsync(string line)
        {
            await client.WriteAsync(line + "\r\n");
            return await client.ReadLineAsync();
        }

        async Task<List<string>> SendMultiLineAsync(string line)
        {
            await client.WriteAsync(line + "\r\n");
            var lines = new List<string>();
            while (true)
            {
                var next = await client.ReadLineAsync() ?? throw new IOException($"The connection closed inside a multi-line reply: {string.Join(" | ", lines)}");
                lines.Add(next);
                if (next == ".")
                {
                    return lines;
                }
            }
        }

        Assert.Equal(["+OK Capability list follows", "USER", "SASL PLAIN LOGIN", "RESP-CODES", "AUTH-RESP-CODE", "STLS", "IMPLEMENTATION Email-OAuth2-Proxy", "."], await SendMultiLineAsync("CAPA"));
        Assert.Equal(["+OK", "PLAIN", "LOGIN", "."], await SendMultiLineAsync("AUTH"));
        // Each refusal below counts towards the ten after which a session is closed: nine of them.
        Assert.Equal(LogInFirst, await SendAsync("RETR 1"));
        Assert.Equal("-ERR Empty command", await SendAsync(""));
        Assert.Equal("+OK", await SendAsync("NOOP"));
        Assert.Equal("-ERR Send USER first", await SendAsync("PASS secret"));
        Assert.Equal("-ERR Unsupported mechanism; use PLAIN or LOGIN", await SendAsync("AUTH CRAM-MD5"));
        Assert.Equal("-ERR Cannot decode the AUTH response", await SendAsync("AUTH PLAIN not*base64"));
        Assert.Equal("+ ", await SendAsync("AUTH PLAIN"));
        Assert.Equal("-ERR Authentication cancelled", await SendAsync("*"));
        Assert.Equal("+ VXNlcm5hbWU6", await SendAsync("AUTH LOGIN"));
        Assert.Equal("-ERR Authentication cancelled", await SendAsync("*"));
        Assert.Equal("+ UGFzc3dvcmQ6", await SendAsync($"AUTH LOGIN {B64(TestEnvironment.Account)}"));
        Assert.Equal("-ERR Authentication cancelled", await SendAsync("*"));
        Assert.Equal("+OK Email OAuth2 Proxy signing off", await SendAsync("QUIT"));
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, env.Pop.ConnectionCount);
        Assert.Empty(env.Identity.AuthorizeRequests);
    }

    [Fact]
    public async Task Limits_LineOver8KiB_ErrAndClosed_OtherSessionUnaffected()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var other = await LineClient.ConnectAsync(env.PopPort);
        Assert.Equal("+OK Email OAuth2 Proxy POP3 ready", await other.ReadLineAsync());

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync("USER " + new string('x', 9000) + "\r\n");
        Assert.StartsWith("-ERR Line too long", await client.ReadLineAsync(), StringComparison.Ordinal);
        Assert.True(await client.IsClosedByServerAsync());

        // The session opened before goes on, and new ones are greeted.
        await other.WriteAsync("NOOP\r\n");
        Assert.Equal("+OK", await other.ReadLineAsync());
        await using var later = await LineClient.ConnectAsync(env.PopPort);
        Assert.Equal("+OK Email OAuth2 Proxy POP3 ready", await later.ReadLineAsync());
    }

    [Theory]
    [InlineData("AUTH PLAIN")]
    [InlineData("AUTH LOGIN")]
    public async Task Limits_LineOver8KiBInsideAuthExchange_ErrAndClosedWithoutInternalError(string command)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync(command + "\r\n");
        Assert.StartsWith("+ ", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync(new string('A', 9000) + "\r\n");
        var reply = await client.ReadLineAsync();
        Assert.True(await client.IsClosedByServerAsync());
        await proxy.WaitForLineAsync(l => l.Contains("POP3 session from", StringComparison.Ordinal) && l.Contains("ended", StringComparison.Ordinal));
        Assert.True(reply?.StartsWith("-ERR Line too long", StringComparison.Ordinal) == true, $"Expected -ERR Line too long, got {reply ?? "(closed)"}. Proxy log:\n{proxy.Describe()}");

        var ended = await proxy.WaitForLineAsync(l => l.Contains("POP3 session from", StringComparison.Ordinal) && l.Contains("ended", StringComparison.Ordinal));
        Assert.Contains("line too long", ended, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("failed unexpectedly", StringComparison.Ordinal));
    }

    /// <summary>A raw client logged in through the proxy with USER/PASS (its +OK read).</summary>
    [Fact]
    public async Task Upstream_PlaintextWithStls_UpgradesBeforeTheToken()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var stlsServer = new FakeExchangePop3Server(env.Identity, implicitTls: false);
        stlsServer.Start();
        env.WriteConfig(transform: t => t
            .Replace($"pop_port = {env.Pop.Port}", $"pop_port = {stlsServer.Port}", StringComparison.Ordinal)
            .Replace("[server fake]", "[server fake]\nssl = false\nstarttls = true", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS x\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        Assert.Equal("+OK Logged in through Email OAuth2 Proxy", await client.ReadLineAsync());
        var commands = stlsServer.Commands.Lines.ToList();
        Assert.True(commands.IndexOf("STLS") >= 0 && commands.IndexOf("STLS") < commands.FindIndex(l => l.StartsWith("AUTH XOAUTH2", StringComparison.Ordinal)), string.Join(" | ", commands));
        Assert.Equal(1, stlsServer.SuccessfulAuthentications);
    }

    private static async Task<LineClient> LoginAsync(TestEnvironment env)
    {
        var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\n");
        Assert.Equal("+OK Send PASS", await client.ReadLineAsync());
        await client.WriteAsync($"PASS {Password}\r\n");
        Assert.Equal(LoggedIn, await client.ReadLineAsync());
        return client;
    }

    private static Pop3Client NewClient(TestEnvironment env) => new() { Timeout = (int)env.SafetyTimeout.TotalMilliseconds };

    /// <summary><see cref="TestMessages.Large"/> with every 100th body line starting with "." and dot lines at the end.</summary>
    private static byte[] LargeWithDotLines(int size)
    {
        var large = TestMessages.Large(size);
        var body = large.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        const int LineLength = 76 + 2;
        for (var start = body; start < large.Length; start += 100 * LineLength)
        {
            large[start] = (byte)'.';
        }
        return [.. large, .. ".\r\n..\r\n.leading dot\r\n...\r\n"u8];
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

}
