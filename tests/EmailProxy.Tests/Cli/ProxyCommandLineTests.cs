using EmailProxy.Accounts;
using EmailProxy.Cli;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Cli;

[Collection(ConsoleTestsRunAlone.Name)]
public sealed class ProxyCommandLineTests : IDisposable
{
    private static readonly string SeedConfig = Path.Combine(AppContext.BaseDirectory, "data", "seed.config");

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Check_SeedConfig_WarnsAboutGraphScopeAndExitsOk()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", SeedConfig]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        var warning = Assert.Single(console.Output.Split('\n'), line => line.Contains("graph.microsoft.com", StringComparison.Ordinal));
        Assert.Equal(
            "warning: [account sales@thekpsgroup.com] scope: graph.microsoft.com tokens are refused by Exchange's IMAP, POP and SMTP; use https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            warning.TrimEnd('\r'));
        Assert.Contains($"{SeedConfig}: usable", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_ConfigWithAnError_PrintsItAndExitsFailure()
    {
        var path = _temp.WriteFile("emailproxy.config", "[account a@example.com]\nclient_id = x\nserver = nowhere\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains(console.Output.Split('\n'), line => line.StartsWith("error: [account a@example.com] server", StringComparison.Ordinal));
        Assert.Contains($"{path}: 1 error(s)", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ConfigWithAnError_ExitsBadConfigWithoutStarting()
    {
        var path = _temp.WriteFile("emailproxy.config", "[account a@example.com]\nclient_id = x\nserver = nowhere\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["run", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitBadConfig, exit);
        Assert.StartsWith($"emailproxy: {path}: [account a@example.com] server", console.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HashPassword_PasswordOnRedirectedInput_PrintsAHashThatVerifies()
    {
        using var console = new ConsoleCapture("pa ss \"word\"\n");

        var exit = await ProxyCommandLine.InvokeAsync(["hash-password"]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        var hash = console.Output.Trim();
        Assert.True(PasswordVerifier.IsWellFormed(hash), hash);
        Assert.True(new PasswordVerifier().Verify("a@example.com", hash, "pa ss \"word\""));
        Assert.DoesNotContain("word", console.Output + console.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HashPassword_EmptyInput_ExitsFailureWithoutAHash()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["hash-password"]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.DoesNotContain(console.Output.Split('\n'), line => PasswordVerifier.IsWellFormed(line.Trim()));
        Assert.Contains("no password given on standard input", console.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_UnknownCommand_ExitsNonZeroAndSaysWhy()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["no-such-command", "--config", SeedConfig]).Guarded();

        Assert.NotEqual(ProxyCommandLine.ExitOk, exit);
        Assert.Contains("no-such-command", console.Errors, StringComparison.Ordinal);
    }

    private const string OpenImapConfig = "[general]\nimap_listen = 0.0.0.0:1993\n[server s]\nimap_host = imap.example.com\n[account a@example.com]\nclient_id = x\n";

    [Fact]
    public async Task Check_MailListenerOffLoopbackWithoutPasswordHash_PrintsTheFixAndExitsFailure()
    {
        var path = _temp.WriteFile("emailproxy.config", OpenImapConfig);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        var error = Assert.Single(console.Output.Split('\n'), line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: [general] imap_listen = '0.0.0.0:1993': is reachable from other machines but [account a@example.com] has no password_hash", error, StringComparison.Ordinal);
        Assert.Contains("emailproxy hash-password", error, StringComparison.Ordinal);
        Assert.Contains("allow_open_relay = true", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_WebListenOffLoopbackWithoutAdminPassword_SaysAdminPasswordIsRequiredAndExitsFailure()
    {
        var path = _temp.WriteFile("emailproxy.config",
            "[general]\nweb_listen = 0.0.0.0:18089\n[server s]\nimap_host = imap.example.com\n[account a@example.com]\nclient_id = x\npassword_hash = " + PasswordVerifier.Hash("p") + "\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        var error = Assert.Single(console.Output.Split('\n'), line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Equal(
            "error: [general] web_listen = '0.0.0.0:18089': the HTTP listener on 0.0.0.0:18089 is reachable from other machines, so admin_password is required: "
            + "set admin_password = <the output of 'emailproxy hash-password'>, or listen on loopback (web_listen = 127.0.0.1:18089)",
            error.TrimEnd('\r'));
        Assert.Contains($"{path}: 1 error(s)", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_MailListenerOffLoopbackWithAllowOpenRelay_WarnsAndExitsOk()
    {
        var path = _temp.WriteFile("emailproxy.config", OpenImapConfig.Replace("[general]\n", "[general]\nallow_open_relay = true\n", StringComparison.Ordinal));
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.Contains(console.Output.Split('\n'), line => line.StartsWith("warning: [general] imap_listen = '0.0.0.0:1993': is reachable from other machines", StringComparison.Ordinal));
        Assert.Contains($"{path}: usable", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MailListenerOffLoopbackWithoutPasswordHash_ExitsBadConfigWithTheFix()
    {
        var path = _temp.WriteFile("emailproxy.config", OpenImapConfig);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["run", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitBadConfig, exit);
        Assert.StartsWith($"emailproxy: {path}: [general] imap_listen = '0.0.0.0:1993': is reachable from other machines", console.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_RedirectUriOnAHostName_HintsAtWebListen()
    {
        var path = _temp.WriteFile("emailproxy.config", "[general]\nredirect_uri = http://mail-proxy:18089\n[server s]\nimap_host = imap.example.com\n[account a@example.com]\nclient_id = x\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.Contains(console.Output.Split('\n'), line => line.StartsWith("warning: [general] redirect_uri = 'http://mail-proxy:18089': its host is a name, so the HTTP listener binds 127.0.0.1:18089 (loopback) only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_ConfigWithOnlyLintWarnings_ListsThemAndExitsOk()
    {
        var path = _temp.WriteFile("emailproxy.config",
            "[general]\npop_listen = 127.0.0.1:1995\n[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\n"
            + "[account a@example.com]\nclient_id = x\nscope = https://outlook.office.com/IMAP.AccessAsUser.All\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        var lines = console.Output.Split('\n');
        Assert.Contains(lines, line => line.StartsWith("warning: [account a@example.com] scope = 'https://outlook.office.com/IMAP.AccessAsUser.All': has no offline_access", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("warning: [account a@example.com] server = 's': [general] pop_listen is set, but [server s] has no pop_host", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains($"{path}: usable", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_AccountHeadersDifferingOnlyInCase_PrintsBothAndExitsFailure()
    {
        var path = _temp.WriteFile("emailproxy.config",
            "[server s]\nimap_host = imap.example.com\n[account a@example.com]\nclient_id = x\n[account A@Example.com]\nusername = b@example.com\n");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["check", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains(console.Output.Split('\n'), line => line.StartsWith(
            "error: [account A@Example.com]: (line 5) is the same account as [account a@example.com] (line 3)", StringComparison.Ordinal));
        Assert.Contains($"{path}: 1 error(s)", console.Output, StringComparison.Ordinal);
    }
}
