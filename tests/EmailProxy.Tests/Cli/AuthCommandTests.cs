using System.Security.Cryptography;
using EmailProxy.Accounts;
using EmailProxy.Cli;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using EmailProxy.Web;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Cli;

/// <summary>
/// <c>emailproxy auth</c> and <c>tokens clear</c> without a running proxy, in this process: bad input
/// gives one line and exit 1 and changes nothing stored; a proxy that holds the token folder but cannot
/// be reached is not written behind. (With a proxy and a real sign-in: the functional tests.)
/// </summary>
[Collection(ConsoleTestsRunAlone.Name)]
public sealed class AuthCommandTests : IDisposable
{
    private const string ClientSecret = "cs~Secret-Value-9Qz";

    private const string Config = $"""
        [general]
        redirect_uri = http://127.0.0.1:18089
        token_dir    = tokens
        secret_file  = emailproxy.key

        [server outlook.office365.com]
        imap_host = outlook.office365.com

        [account sales@example.com]
        client_id = 00000000-1111-2222-3333-444444444444
        tenant    = contoso.example
        server    = outlook.office365.com

        [account other@example.com]
        client_id = 00000000-1111-2222-3333-444444444444
        tenant    = contoso.example
        server    = outlook.office365.com

        [account app@example.com]
        client_id     = 00000000-1111-2222-3333-444444444444
        tenant        = contoso.example
        server        = outlook.office365.com
        flow          = client_credentials
        client_secret = {ClientSecret}
        """;

    private readonly TempDirectory _temp = new();
    private readonly string _configPath;

    public AuthCommandTests() => _configPath = _temp.WriteFile("emailproxy.config", Config);

    public void Dispose() => _temp.Dispose();

    private string TokenDirectory => _temp.Combine("tokens");

    private string TokenFile(string account) => Path.Combine(TokenDirectory, TokenFileName.For(account));

    private async Task SaveAsync(string account, string refresh)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        _temp.WriteFile("emailproxy.key", Convert.ToBase64String(key) + "\n");
        var store = new TokenFileStore(TokenDirectory, MasterKey.FromBytes(key), TimeProvider.System, NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(TestAccounts.Create(account), new StoredTokens("access", DateTimeOffset.UtcNow.AddHours(1), refresh, DateTimeOffset.UtcNow), CancellationToken.None);
    }

    [Fact]
    public async Task Auth_UnknownAccount_OneLineAndExitFailure()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["auth", "nobody@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Equal($"emailproxy: {_configPath}: there is no [account nobody@example.com]", console.Errors.TrimEnd());
    }

    [Fact]
    public async Task Auth_ClientCredentialsAccount_SaysAppOnlyNeedsNoSignInAndNeverTheSecret()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["auth", "app@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains("is app-only (client credentials): it needs no sign-in", console.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, console.Output + console.Errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:18089/?code=c0de-SECRET-1&state=not-the-state\n", "unknown or expired")]
    [InlineData("just-some-text-c0de-SECRET-1\n", "cannot be used")]
    [InlineData("", "standard input ended")]
    public async Task Auth_NoProxyAndAnUnusablePaste_OneLineExitFailureAndNothingStored(string input, string reason)
    {
        using var console = new ConsoleCapture(input);

        var exit = await ProxyCommandLine.InvokeAsync(["auth", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize?", console.Output, StringComparison.Ordinal);
        var error = Assert.Single(console.Errors.Split('\n'), line => line.StartsWith("emailproxy: ", StringComparison.Ordinal));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain("c0de-SECRET-1", console.Output + console.Errors, StringComparison.Ordinal);
        Assert.False(File.Exists(TokenFile("sales@example.com")));
    }

    [Fact]
    public async Task Auth_ProxyHoldsTheFolderButNoControlToken_RefusesNamingWhyAndStoresNothing()
    {
        Directory.CreateDirectory(TokenDirectory);
        using var proxy = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory))!;
        using var console = new ConsoleCapture("http://127.0.0.1:18089/?code=c&state=s\n");

        var exit = await ProxyCommandLine.InvokeAsync(["auth", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains("another process holds the token folder", console.Errors, StringComparison.Ordinal);
        Assert.Contains(ControlToken.FileName, console.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("authorize?", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_ProxyHoldsTheFolderAndListensOffLoopback_RefusesNamingWebListen()
    {
        var path = _temp.WriteFile("remote.config", Config.Replace(
            "[general]\n", $"[general]\nweb_listen = 192.0.2.10:18089\nadmin_password = {PasswordVerifier.Hash("admin-pw")}\n", StringComparison.Ordinal));
        await SaveAsync("sales@example.com", "sales-refresh");
        File.WriteAllText(ControlToken.PathFor(TokenDirectory), "the-proxys-token\n");
        using var proxy = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory))!;
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains("web_listen 192.0.2.10:18089 is not on loopback", console.Errors, StringComparison.Ordinal);
        Assert.True(File.Exists(TokenFile("sales@example.com")));
    }

    [Fact]
    public async Task TokensClear_NoProxy_RemovesThatAccountsFileOnly()
    {
        await SaveAsync("sales@example.com", "sales-refresh");
        await SaveAsync("other@example.com", "other-refresh");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.StartsWith("Account sales@example.com: its token file ", console.Output, StringComparison.Ordinal);
        Assert.Single(console.Output.TrimEnd().Split('\n'));
        Assert.False(File.Exists(TokenFile("sales@example.com")));
        Assert.True(File.Exists(TokenFile("other@example.com")));
        Assert.DoesNotContain("refresh", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokensClear_DamagedFile_RemovesIt()
    {
        Directory.CreateDirectory(TokenDirectory);
        await File.WriteAllTextAsync(TokenFile("sales@example.com"), "");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.False(File.Exists(TokenFile("sales@example.com")));
    }

    [Fact]
    public async Task TokensClear_NoFile_SaysSoAndExitsOk()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.Equal("Account sales@example.com has no token file: nothing to clear.", console.Output.TrimEnd());
    }

    [Fact]
    public async Task TokensClear_UnknownAccount_OneLineExitFailureAndNothingRemoved()
    {
        await SaveAsync("sales@example.com", "sales-refresh");
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "nobody@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Single(console.Errors.TrimEnd().Split('\n'));
        Assert.True(File.Exists(TokenFile("sales@example.com")));
    }

    [Fact]
    public async Task TokensClear_ProxyHoldsTheFolderButCannotBeReached_RefusesAndRemovesNothing()
    {
        await SaveAsync("sales@example.com", "sales-refresh");
        using var proxy = FileLock.TryAcquire(TokenFileStore.InstanceLockPathFor(TokenDirectory))!;
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Contains("another process holds the token folder", console.Errors, StringComparison.Ordinal);
        Assert.True(File.Exists(TokenFile("sales@example.com")));
    }

    [Fact]
    public async Task TokensClear_StaleControlTokenAndNoProxy_WorksOffline()
    {
        await SaveAsync("sales@example.com", "sales-refresh");
        // A proxy that died left its control.token; nothing listens on its port now.
        File.WriteAllText(ControlToken.PathFor(TokenDirectory), "stale-token\n");
        var config = _temp.WriteFile("stale.config", Config.Replace("redirect_uri = http://127.0.0.1:18089", "redirect_uri = http://127.0.0.1:1", StringComparison.Ordinal));
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "clear", "sales@example.com", "--config", config]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.False(File.Exists(TokenFile("sales@example.com")));
    }

    [Theory]
    [InlineData(272, "waiting for the sign-in… 4:32 left")]
    [InlineData(0.2, "waiting for the sign-in… 0:01 left")]
    [InlineData(-5, "waiting for the sign-in… 0:00 left")]
    [InlineData(600, "waiting for the sign-in… 10:00 left")]
    public void ProgressText_TimeLeft_MinutesAndSeconds(double seconds, string expected)
    {
        Assert.Equal(expected, SignInProgress.Text(TimeSpan.FromSeconds(seconds)));
    }
}
