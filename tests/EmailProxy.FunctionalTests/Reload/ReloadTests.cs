using System.Diagnostics;
using System.Net.Sockets;
using EmailProxy.FunctionalTests.Container;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Reload;

/// <summary>
/// Issue 14 item 6 through the real process: SIGHUP and a change of the file reload the configuration
/// without a restart; open sessions keep relaying; only a moved listener is rebound; a file that fails
/// the checks changes nothing; keys that need a restart are named.
/// </summary>
public sealed class ReloadTests
{
    private const string Password = "any-Pa55word";
    private const string Second = "second@example.com";

    private static Func<string, bool> Reloaded(string trigger) =>
        line => line.Contains($"Configuration reloaded ({trigger})", StringComparison.Ordinal);

    /// <summary>
    /// The reload line that says <paramref name="change"/>, whatever set it off: a test that replaces the file and then
    /// sends SIGHUP cannot know which comes first on a busy machine (the file's own reload follows 1 s after the write),
    /// and the second of them finds no changes.
    /// </summary>
    private static Func<string, bool> ReloadedWith(string change) =>
        line => line.Contains("Configuration reloaded (", StringComparison.Ordinal) && line.Contains(change, StringComparison.Ordinal);

    private static string AccountSection(TestEnvironment env, string name) =>
        $"""

        [account {name}]
        client_id = {env.Identity.ClientId}
        tenant = {env.Identity.Tenant}
        authority = {env.Identity.Authority}
        server = {TestEnvironment.ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access

        """;

    /// <summary>Writes the file as an editor does: a new file renamed over the old one.</summary>
    private static void Replace(TestEnvironment env, string text)
    {
        var temporary = env.ConfigPath + ".new";
        File.WriteAllText(temporary, text);
        File.Move(temporary, env.ConfigPath, overwrite: true);
    }

    private static async Task SignInAsync(TestEnvironment env, ProxyProcess proxy, string account, int port)
    {
        await using (var client = await LineClient.ConnectAsync(port))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"s1 LOGIN {account} x\r\n");
            Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        Assert.Contains("signed in", await env.SignInAsync(proxy, account), StringComparison.Ordinal);
    }

    private static async Task<LineClient> LoginAsync(string account, int port)
    {
        var client = await LineClient.ConnectAsync(port);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {account} {Password}\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        Assert.StartsWith("l1 OK", answer, StringComparison.Ordinal);
        return client;
    }

    private static async Task<string> CommandAsync(LineClient client, string tag, string command)
    {
        await client.WriteAsync($"{tag} {command}\r\n");
        return await client.ReadUntilAsync(l => l.StartsWith(tag + " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sighup_AddsAccountAndMovesServerPort_OpenSessionRelaysAndNewAccountUsesNewPort()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await using var moved = new FakeExchangeImapServer(env.Identity);
        moved.Start();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy, TestEnvironment.Account, env.ImapPort);
        await using var open = await LoginAsync(TestEnvironment.Account, env.ImapPort);
        Assert.StartsWith("a1 OK", await CommandAsync(open, "a1", "SELECT INBOX"), StringComparison.Ordinal);

        Replace(env, env.BuildConfig().Replace($"imap_port = {env.Imap.Port}", $"imap_port = {moved.Port}", StringComparison.Ordinal) + AccountSection(env, Second));
        await proxy.SendSignalAsync("HUP");
        var summary = await proxy.WaitForLineAsync(ReloadedWith($"accounts added {Second}"));

        Assert.Contains($"servers changed {TestEnvironment.ServerName}", summary, StringComparison.Ordinal);
        Assert.False(proxy.HasExited, proxy.Describe());
        // The session opened before the reload still relays, to the upstream it was relayed to.
        Assert.StartsWith("a2 OK", await CommandAsync(open, "a2", "NOOP"), StringComparison.Ordinal);
        Assert.StartsWith("a3 OK", await CommandAsync(open, "a3", "SELECT INBOX"), StringComparison.Ordinal);
        Assert.Equal(0, moved.ConnectionCount);

        // The new account signs in and logs in, to the server's new port.
        await SignInAsync(env, proxy, Second, env.ImapPort);
        await using var added = await LoginAsync(Second, env.ImapPort);
        Assert.Equal(1, moved.SuccessfulAuthentications);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Sighup_InvalidFile_IsRefusedWithTheErrorAndTheOldConfigurationServes()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy, TestEnvironment.Account, env.ImapPort);

        Replace(env, env.BuildConfig().Replace($"imap_port = {env.Imap.Port}", "imap_port = 1", StringComparison.Ordinal)
            + AccountSection(env, Second).Replace($"server = {TestEnvironment.ServerName}", "server = nowhere", StringComparison.Ordinal));
        await proxy.SendSignalAsync("HUP");
        var refused = await proxy.WaitForLineAsync(l => l.Contains("Configuration not reloaded (", StringComparison.Ordinal));

        Assert.Contains("nowhere", refused, StringComparison.Ordinal);
        Assert.Contains($"[account {Second}]", refused, StringComparison.Ordinal);
        Assert.False(proxy.Output.Any(l => l.Contains("Configuration reloaded (", StringComparison.Ordinal)), proxy.Describe());
        // The old configuration: the account still logs in, to the old port.
        await using var session = await LoginAsync(TestEnvironment.Account, env.ImapPort);
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        await using var stranger = await LineClient.ConnectAsync(env.ImapPort);
        await stranger.ReadLineAsync();
        await stranger.WriteAsync($"l1 LOGIN {Second} {Password}\r\n");
        Assert.Contains($"There is no account '{Second}'", await stranger.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_ImapListenerMoved_NewAddressAcceptsOldRefusesAndOpenSessionsRunOn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy, TestEnvironment.Account, env.ImapPort);
        await using var open = await LoginAsync(TestEnvironment.Account, env.ImapPort);
        await using var smtp = await LineClient.ConnectAsync(env.SmtpPort);
        Assert.StartsWith("220", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);

        var port = TestEnvironment.GetFreePort();
        Replace(env, env.BuildConfig().Replace($"imap_listen = 127.0.0.1:{env.ImapPort}", $"imap_listen = 127.0.0.1:{port}", StringComparison.Ordinal));
        await proxy.SendSignalAsync("HUP");
        await proxy.WaitForLineAsync(ReloadedWith($"IMAP listener moved 127.0.0.1:{env.ImapPort} -> 127.0.0.1:{port}"));
        await proxy.WaitForLineAsync(l => l.Contains($"Listening for IMAP on 127.0.0.1:{port}", StringComparison.Ordinal));
        await using (var moved = await LoginAsync(TestEnvironment.Account, port))
        {
            Assert.StartsWith("m1 OK", await CommandAsync(moved, "m1", "NOOP"), StringComparison.Ordinal);
        }
        await Assert.ThrowsAnyAsync<SocketException>(() => LineClient.ConnectAsync(env.ImapPort));
        // The session opened on the old address, and the SMTP listener's, are untouched.
        Assert.StartsWith("a1 OK", await CommandAsync(open, "a1", "NOOP"), StringComparison.Ordinal);
        await smtp.WriteAsync("EHLO client.example\r\n");
        Assert.StartsWith("250", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("No longer accepting SMTP", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FileChange_SeveralWritesWithoutSignal_OneDebouncedReloadOfTheLastContent()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();

        // Back to back, well within the quiet second: one reload, of the last text.
        var text = env.BuildConfig();
        foreach (var name in new[] { "a2@example.com", "a3@example.com", "a4@example.com" })
        {
            text += AccountSection(env, name);
            File.WriteAllText(env.ConfigPath, text);
        }
        var summary = await proxy.WaitForLineAsync(Reloaded("file change"));
        Assert.Contains("accounts added a2@example.com, a3@example.com, a4@example.com", summary, StringComparison.Ordinal);

        // A signal's reload runs after any other under way or waiting: once it is logged, a second file reload would have been too.
        await proxy.SendSignalAsync("HUP");
        Assert.Contains("no changes", await proxy.WaitForLineAsync(Reloaded("SIGHUP")), StringComparison.Ordinal);
        Assert.Equal(1, proxy.Output.Count(Reloaded("file change")));
    }

    /// <summary>Runs <c>emailproxy ARGUMENTS</c> as an operator does (killed by its PID past the test's wait); its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunCommandAsync(params string[] arguments)
    {
        var result = await Command.RunAsync("dotnet", [ProxyProcess.DllPath, .. arguments], ObservableLog.DefaultTimeout);
        return (result.ExitCode, result.Output + result.Error);
    }

    [Fact]
    public async Task ReloadCommand_RunningProxy_PrintsTheSummaryOrTheErrors()
    {
        await using var env = await TestEnvironment.CreateAsync();
        // The tests' configuration has local_tls = off already (TestEnvironment.LocalTlsOff): each variant replaces that line.
        string Config(string general) => TestEnvironment.WithLocalTls(general)(env.BuildConfig());
        File.WriteAllText(env.ConfigPath, Config("local_tls = off"));
        var (before, beforeOutput) = await RunCommandAsync("reload", "--config", env.ConfigPath);
        Assert.True(before == 1, beforeOutput);
        Assert.Contains("no running proxy answers", beforeOutput, StringComparison.Ordinal);
        var proxy = await env.StartProxyAsync();

        // The file's own reload comes first; the command's reads it again, and still names the key that needs a restart.
        Replace(env, Config("local_tls = off\nlog_format = json"));
        await proxy.WaitForLineAsync(Reloaded("file change"));
        var (applied, appliedOutput) = await RunCommandAsync("reload", "--config", env.ConfigPath);
        Assert.True(applied == 0, appliedOutput);
        Assert.Contains("Configuration reloaded: needs a restart: log_format", appliedOutput, StringComparison.Ordinal);
        await proxy.WaitForLineAsync(Reloaded("emailproxy reload"));

        // A file that reads well but that the running proxy refuses (local TLS off at start: no certificate was made).
        Replace(env, Config("local_tls = auto"));
        await proxy.WaitForLineAsync(l => l.Contains("Configuration not reloaded (file change)", StringComparison.Ordinal));
        var (refused, refusedOutput) = await RunCommandAsync("reload", "--config", env.ConfigPath);
        Assert.True(refused == 1, refusedOutput);
        Assert.Contains("the configuration was not reloaded: [general] local_tls: local TLS was off on every listener at start", refusedOutput, StringComparison.Ordinal);

        // A file that does not read: said here, as check says it; the proxy is not asked.
        Replace(env, env.BuildConfig() + AccountSection(env, Second).Replace($"server = {TestEnvironment.ServerName}", "server = nowhere", StringComparison.Ordinal));
        var (unreadable, unreadableOutput) = await RunCommandAsync("reload", "--config", env.ConfigPath);
        Assert.True(unreadable == 2, unreadableOutput);
        Assert.Contains("nowhere", unreadableOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_RestartOnlyKeyChanged_IsNamedAndTheRestApplies()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();

        var other = Path.Combine(env.Directory, "other-tokens");
        Replace(env, env.BuildConfig().Replace($"token_dir = {env.TokenDirectory}", $"token_dir = {other}", StringComparison.Ordinal) + AccountSection(env, Second));
        await proxy.SendSignalAsync("HUP");
        var summary = await proxy.WaitForLineAsync(ReloadedWith($"accounts added {Second}"));

        Assert.Contains("needs a restart: token_dir", summary, StringComparison.Ordinal);
        // The new account is served (it is told to sign in, not that it does not exist), and its tokens go to the folder in use.
        await SignInAsync(env, proxy, Second, env.ImapPort);
        await using var session = await LoginAsync(Second, env.ImapPort);
        Assert.False(Directory.Exists(other));
    }
}
