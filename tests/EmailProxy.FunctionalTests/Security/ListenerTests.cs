using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// Where the real proxy is willing to listen. No test here lets a listener off loopback come up:
/// a refused start is checked by its exit, its line, and by nothing having been created or bound.
/// </summary>
public sealed class ListenerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emailproxy-listeners-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteConfig(string general)
    {
        var path = Path.Combine(_folder, "emailproxy.config");
        File.WriteAllText(path, $"""
            [general]
            local_tls = off
            {general}

            [server s]
            imap_host = imap.example.com

            [account open@example.com]
            client_id = id

            """);
        return path;
    }

    private static string Loopback() => $"127.0.0.1:{TestEnvironment.GetFreePort()}";

    /// <summary>Starts the proxy on <paramref name="general"/>, which it must refuse: exit code 2, one line on standard error (returned), nothing bound or made.</summary>
    private async Task<string> RefusedStartAsync(string general)
    {
        var path = WriteConfig(general);
        await using var proxy = new ProxyProcess(path, workingDirectory: _folder);

        proxy.Launch();
        var exit = await proxy.WaitForExitAsync();

        Assert.Equal(2, exit);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("Listening for", StringComparison.Ordinal));
        // Refused before anything was made: no master key, no token folder.
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
        return Assert.Single(proxy.StandardError);
    }

    [Fact]
    public async Task Run_MailListenerOffLoopbackWithoutPasswordHash_RefusesToStartWithTheFix()
    {
        var port = TestEnvironment.GetFreePort();

        var line = await RefusedStartAsync($"""
            redirect_uri = http://{Loopback()}
            imap_listen = 0.0.0.0:{port}
            smtp_listen = {Loopback()}
            """);

        Assert.Equal(
            $"emailproxy: {Path.Combine(_folder, "emailproxy.config")}: [general] imap_listen = '0.0.0.0:{port}': is reachable from other machines but [account open@example.com] has no password_hash, so anyone who reaches it could use that mailbox. "
            + "Fix: set password_hash (from 'emailproxy hash-password') on that account, or listen on 127.0.0.1, or set allow_open_relay = true if this is on purpose",
            line);
    }

    [Fact]
    public async Task Run_WebListenOffLoopbackWithoutAdminPassword_RefusesToStartWithTheFix()
    {
        var port = TestEnvironment.GetFreePort();

        var line = await RefusedStartAsync($"""
            redirect_uri = http://{Loopback()}
            web_listen = 0.0.0.0:{port}
            imap_listen = {Loopback()}
            smtp_listen = {Loopback()}
            """);

        Assert.StartsWith($"emailproxy: {Path.Combine(_folder, "emailproxy.config")}: [general] web_listen = '0.0.0.0:{port}': the HTTP listener on 0.0.0.0:{port} is reachable from other machines, so admin_password is required", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RedirectUriOnAHostName_BindsTheHttpListenerOnLoopbackOnly()
    {
        var port = TestEnvironment.GetFreePort();
        var path = WriteConfig($"""
            redirect_uri = http://emailproxy-test.invalid:{port}
            imap_listen = {Loopback()}
            smtp_listen = {Loopback()}
            """);
        await using var proxy = new ProxyProcess(path, workingDirectory: _folder);

        await proxy.StartAsync();

        Assert.Contains(proxy.Output, l => l.Contains($"Listening for HTTP on 127.0.0.1:{port}", StringComparison.Ordinal));
        Assert.Single(proxy.Output, l => l.Contains("Listening for HTTP", StringComparison.Ordinal));
        Assert.Contains(proxy.Output, l => l.Contains(
            $"redirect_uri = 'http://emailproxy-test.invalid:{port}': its host is a name, so the HTTP listener binds 127.0.0.1:{port} (loopback) only", StringComparison.Ordinal));
        using var http = new HttpClient();
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
        Assert.Equal(0, await proxy.StopAsync());
    }

    [Fact]
    public async Task Run_AllowOpenRelay_WarnsAtStart()
    {
        var path = WriteConfig($"""
            allow_open_relay = true
            redirect_uri = http://{Loopback()}
            imap_listen = {Loopback()}
            smtp_listen = {Loopback()}
            """);
        await using var proxy = new ProxyProcess(path, workingDirectory: _folder);

        await proxy.StartAsync();

        Assert.Contains(proxy.Output, l => l.Contains("Configuration: [general] allow_open_relay = 'true': nothing is open now", StringComparison.Ordinal));
        Assert.Equal(0, await proxy.StopAsync());
    }
}
