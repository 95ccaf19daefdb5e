using System.Net;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Imap;

/// <summary>The seed's story through the real emailproxy: sign-in, login, mail, refresh, failures, restart.</summary>
public sealed class ImapProxyTests
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task Login_SeedStory_SignsInOnceThenRelaysMailByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var big = TestMessages.Large(3 * 1024 * 1024);
        env.Imap.AddMessage(big);
        var proxy = await env.StartProxyAsync();

        // First login: no token yet, so the client is told what to open, and the URL is logged.
        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password));
            Assert.Contains("needs an OAuth2 sign-in with Microsoft", refused.Message, StringComparison.Ordinal);
            Assert.Contains($"http://127.0.0.1:{env.HttpPort}/accounts/", refused.Message, StringComparison.Ordinal);
        }
        var logged = await proxy.WaitForLineAsync(l => l.Contains("OAuth2", StringComparison.Ordinal) && l.Contains("Microsoft", StringComparison.Ordinal) && l.Contains("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        Assert.Contains("info", logged, StringComparison.Ordinal);
        Assert.Equal(0, env.Imap.ConnectionCount);

        var page = await env.SignInAsync(proxy);
        Assert.Contains("signed in", page, StringComparison.Ordinal);
        var authorize = Assert.Single(env.Identity.AuthorizeRequests);
        Assert.Equal(TestEnvironment.Account, authorize.LoginHint);
        Assert.Equal("S256", authorize.CodeChallengeMethod);

        // Second login: through to the upstream, which checks the XOAUTH2 token.
        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Move), "the client's OK carries the upstream's capabilities");

            var folders = await client.GetFoldersAsync(client.PersonalNamespaces[0]);
            Assert.Contains(folders, f => f.FullName == "Sent Items");
            var inbox = client.Inbox;
            await inbox.OpenAsync(FolderAccess.ReadWrite);
            Assert.Equal(1, inbox.Count);
            using (var stream = await inbox.GetStreamAsync(0, ""))
            using (var copy = new MemoryStream())
            {
                await stream.CopyToAsync(copy);
                Assert.True(big.AsSpan().SequenceEqual(copy.ToArray()), "the message arrives byte for byte");
            }

            var sent = new MimeMessage();
            sent.From.Add(new MailboxAddress("Sales", TestEnvironment.Account));
            sent.To.Add(new MailboxAddress("Customer", "customer@example.org"));
            sent.Subject = "Appended through the proxy ünïcödé";
            sent.Body = new TextPart("plain") { Text = "Hello from the proxy test.\r\n" };
            await inbox.AppendAsync(sent, MessageFlags.Seen);
            await client.DisconnectAsync(quit: true);
        }
        var appended = Assert.Single(env.Imap.AppendedMessages);
        Assert.Contains("Appended through the proxy", Encoding.UTF8.GetString(appended.Bytes), StringComparison.Ordinal);

        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        var ended = await proxy.WaitForLineAsync(l => l.Contains("IMAP session from", StringComparison.Ordinal) && l.Contains("relayed", StringComparison.Ordinal));
        Assert.Contains(TestEnvironment.Account, ended, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_AccessTokenNearExpiry_RefreshesOnceAndSucceeds()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // A token with less than the proxy's 5-minute margin left is refreshed before use.
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);

        await using var session = await LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        var refresh = env.Identity.TokenRequests.Last(r => r.GrantType == "refresh_token");
        Assert.Equal(env.Identity.ClientId, refresh.Form["client_id"]);
        await proxy.WaitForLineAsync(l => l.Contains("refreshed", StringComparison.Ordinal) && l.Contains("rotated: True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_UpstreamRejectsTokenOnce_RefreshesAndRetries()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);
        env.Imap.RejectNextAuthentications(1);

        await using var session = await LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(2, env.Imap.AuthenticationAttempts);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);
        var tokens = env.Imap.XOAuth2Strings.Select(s => s.Split("auth=Bearer ")[1]).ToList();
        Assert.NotEqual(tokens[0], tokens[1]);
    }

    [Fact]
    public async Task Login_UpstreamRejectsTwice_AnswersNoWithTheUpstreamsWordsAndAHint()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);
        env.Imap.RejectNextAuthentications(2);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Account user@example.com:", answer, StringComparison.Ordinal);
        Assert.Contains("\"AUTHENTICATE failed.\"", answer, StringComparison.Ordinal);
        Assert.Contains("IMAP.AccessAsUser.All", answer, StringComparison.Ordinal);
        Assert.Equal(2, env.Imap.AuthenticationAttempts);

        // The session goes on: the client may try again.
        await client.WriteAsync("a2 NOOP\r\n");
        Assert.Equal("a2 OK NOOP completed", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Login_UpstreamDown_AnswersUnavailableNamingHostAndPort()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var deadPort = TestEnvironment.GetFreePort();
        env.WriteConfig(transform: text => text.Replace($"imap_port = {env.Imap.Port}", $"imap_port = {deadPort}", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
        Assert.StartsWith("a1 NO [UNAVAILABLE]", answer, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{deadPort}", answer, StringComparison.Ordinal);
        Assert.Contains("refused", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_UpstreamCertificateNotTrusted_AnswersUnavailableSayingWhy()
    {
        await using var env = await TestEnvironment.CreateAsync(untrustedUpstream: true);
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
        Assert.StartsWith("a1 NO [UNAVAILABLE]", answer, StringComparison.Ordinal);
        Assert.Contains("certificate does not verify", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_TokensOnDisk_LoginWithoutNewSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);
        Assert.Equal(0, await proxy.StopAsync());

        var tokenFile = Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(env.TokenDirectory));
        }
        var stored = await File.ReadAllTextAsync(tokenFile);
        foreach (var token in env.Imap.XOAuth2Strings.Select(s => s.Split("auth=Bearer ")[1].TrimEnd('\u0001')))
        {
            Assert.DoesNotContain(token, stored, StringComparison.Ordinal);
        }

        var restarted = await env.StartProxyAsync();
        await using var session = await LoginAsync(env, TestEnvironment.Account);
        Assert.Equal(1, env.Identity.AuthorizationCodeRequests);
        Assert.DoesNotContain(restarted.Output, l => l.Contains("sign-in needed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_PipelinedCommandsBehindLogin_GoUpstreamOnlyAfterItsOk()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} x\r\na2 SELECT INBOX\r\na3 LOGOUT\r\n");
        var seen = new List<string>();
        await client.ReadUntilAsync(l => l.StartsWith("a3 OK", StringComparison.Ordinal), seen);
        var order = seen.Where(l => l.StartsWith("a1 ", StringComparison.Ordinal) || l.StartsWith("a2 ", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("a1 OK", order[0], StringComparison.Ordinal);
        Assert.StartsWith("a2 OK", order[1], StringComparison.Ordinal);
        var upstream = env.Imap.Commands.Lines;
        Assert.True(upstream.ToList().FindIndex(l => l.Contains("AUTHENTICATE", StringComparison.Ordinal)) < upstream.ToList().FindIndex(l => l.StartsWith("a2 SELECT", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("a1 LOGIN user@example.com \"pa\\\\ss \\\"word\\\"\"\r\n", false)]
    [InlineData("a1 LOGIN {16}\r\nuser@example.com {12}\r\npa\\ss \"word\"\r\n", true)]
    [InlineData("a1 LOGIN {16}\r\nuser@example.com {12}\r\npa\\ss \"word\"\r\n", false)]
    [InlineData("a1 LOGIN {16+}\r\nuser@example.com {12+}\r\npa\\ss \"word\"\r\n", false)]
    [InlineData("a1 AUTHENTICATE PLAIN AHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", false)]
    [InlineData("a1 AUTHENTICATE PLAIN\r\nAHVzZXJAZXhhbXBsZS5jb20AcGFcc3MgIndvcmQi\r\n", true)]
    [InlineData("a1 AUTHENTICATE LOGIN\r\ndXNlckBleGFtcGxlLmNvbQ==\r\ncGFcc3MgIndvcmQi\r\n", true)]
    [InlineData("a1 AUTHENTICATE LOGIN dXNlckBleGFtcGxlLmNvbQ==\r\ncGFcc3MgIndvcmQi\r\n", true)]
    public async Task Login_EveryForm_ParsesNameAndPasswordWithEscapes(string transcript, bool waitForContinuations)
    {
        await using var env = await TestEnvironment.CreateAsync();
        // The password pa\ss "word" is checked against a hash made by the CLI, so a wrong parse fails.
        var hash = await ProxyProcess.HashPasswordAsync("pa\\ss \"word\"");
        env.WriteConfig(transform: text => text.Replace("server = fake", $"server = fake\npassword_hash = {hash}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await SignInFromStatusPageAsync(env);

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        if (waitForContinuations)
        {
            // Send line by line, waiting for each "+" as a patient client does.
            var lines = transcript.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            for (var i = 0; i < lines.Length; i++)
            {
                await client.WriteAsync(lines[i] + "\r\n");
                if (i < lines.Length - 1)
                {
                    Assert.StartsWith("+", await client.ReadLineAsync(), StringComparison.Ordinal);
                }
            }
        }
        else
        {
            await client.WriteAsync(transcript);
        }
        var answer = await client.ReadUntilAsync(l => l.StartsWith("a1 ", StringComparison.Ordinal));
        Assert.StartsWith("a1 OK [CAPABILITY IMAP4 IMAP4rev1", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_WrongPasswordWithHash_IsRefused()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var hash = await ProxyProcess.HashPasswordAsync("right");
        env.WriteConfig(transform: text => text.Replace("server = fake", $"server = fake\npassword_hash = {hash}", StringComparison.Ordinal));
        await env.StartProxyAsync();

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"a1 LOGIN {TestEnvironment.Account} wrong\r\n");
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] Wrong login name or password", await client.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Empty(env.Identity.AuthorizeRequests);
    }

    [Fact]
    public async Task Login_UnknownAccount_SaysWhichSectionToAdd()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync("a1 LOGIN stranger@example.com x\r\n");
        var answer = await client.ReadLineAsync();
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] There is no account 'stranger@example.com' in the proxy's configuration: add an [account stranger@example.com] section to emailproxy.ini (the proxy reads the file again when it is saved)", answer);
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    [Fact]
    public async Task Stop_OpenSessions_GetByeAndTheProcessExits()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);

        await using var idle = await LineClient.ConnectAsync(env.ImapPort);
        Assert.StartsWith("* OK [CAPABILITY", await idle.ReadLineAsync(), StringComparison.Ordinal);
        await using var relayed = await LoginAsync(env, TestEnvironment.Account);

        Assert.Equal(0, await proxy.StopAsync());
        Assert.StartsWith("* BYE", await idle.ReadLineAsync(), StringComparison.Ordinal);
        Assert.StartsWith("* BYE", await relayed.ReadLineAsync(), StringComparison.Ordinal);
        Assert.True(await idle.IsClosedByServerAsync());
        Assert.True(await relayed.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Logs_WholeStoryAtTrace_HoldNoSecret()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);
        env.Imap.RejectNextAuthentications(1);
        await using (var session = await LoginAsync(env, TestEnvironment.Account, "Secret-Passw0rd"))
        {
            await session.WriteAsync("z9 LOGOUT\r\n");
            await session.ReadUntilAsync(l => l.StartsWith("z9 ", StringComparison.Ordinal));
        }
        await using (var plain = await LineClient.ConnectAsync(env.ImapPort))
        {
            await plain.ReadLineAsync();
            await plain.WriteAsync("b1 AUTHENTICATE PLAIN\r\n");
            await plain.ReadLineAsync();
            await plain.WriteAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0user@example.com\0Another-Secr3t")) + "\r\n");
            await plain.ReadUntilAsync(l => l.StartsWith("b1 ", StringComparison.Ordinal));
        }
        await proxy.StopAsync();

        var output = string.Join("\n", proxy.Output) + string.Join("\n", proxy.StandardError);
        var secrets = new List<string> { "Secret-Passw0rd", "Another-Secr3t", Convert.ToBase64String(Encoding.UTF8.GetBytes("\0user@example.com\0Another-Secr3t")) };
        secrets.AddRange(env.Imap.XOAuth2Strings.Select(s => s.Split("auth=Bearer ")[1].TrimEnd('\u0001')));
        foreach (var request in env.Identity.TokenRequests)
        {
            foreach (var key in new[] { "code", "code_verifier", "refresh_token" })
            {
                if (request.Form.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value))
                {
                    secrets.Add(value!);
                }
            }
        }
        Assert.True(secrets.Count >= 6, "the story produced tokens and codes to look for");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Start_BadConfiguration_ExitsWithCode2AndOneLinePerProblem()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: text => text
            .Replace("server = fake", "server = nowhere", StringComparison.Ordinal)
            .Replace("log_level = trace", "log_level = loud", StringComparison.Ordinal));
        var proxy = env.CreateProxy();
        proxy.Launch();
        Assert.Equal(2, await proxy.WaitForExitAsync());
        var errors = proxy.StandardError;
        Assert.Contains(errors, l => l.Contains("[account user@example.com] server = 'nowhere': there is no [server nowhere] section", StringComparison.Ordinal));
        Assert.Contains(errors, l => l.Contains("[general] log_level = 'loud'", StringComparison.Ordinal));
        Assert.DoesNotContain(errors.Concat(proxy.Output), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    internal static async Task SignInAsync(TestEnvironment env, ProxyProcess proxy)
    {
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"s1 LOGIN {TestEnvironment.Account} x\r\n");
            Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
    }

    /// <summary>What a person does from the status page: the account's "Sign in" button, through the provider, back to the proxy.</summary>
    internal static async Task SignInFromStatusPageAsync(TestEnvironment env)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseProxy = false });
        var status = await http.GetStringAsync(new Uri(env.RedirectUri + "/"));
        Assert.Contains("Needs a sign-in", status, StringComparison.Ordinal);
        var page = await env.SignInFromStatusPageAsync();
        Assert.Contains("<h1>Signed in</h1>", page, StringComparison.Ordinal);
        var after = await http.GetStringAsync(new Uri(env.RedirectUri + "/"));
        Assert.Matches("data-field=\"state\">Signed in[^<]*; access token valid until", after);
    }

    /// <summary>A raw client logged in through the proxy (its OK read).</summary>
    internal static async Task<LineClient> LoginAsync(TestEnvironment env, string account, string password = Password, IPAddress? from = null)
    {
        var client = await LineClient.ConnectAsync(env.ImapPort, from);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {account} {password}\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        Assert.StartsWith("l1 OK", answer, StringComparison.Ordinal);
        return client;
    }

}
