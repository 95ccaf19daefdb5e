using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Hosting;

/// <summary>
/// The real proxy with a mail port taken by another program at start, and with a token folder that takes
/// no file: it starts anyway, the other listeners serve, and /readyz names what is not ready until it is.
/// </summary>
public sealed class ReadinessTests
{
    private const string Password = "any-Pa55word";

    private static async Task<(HttpStatusCode Status, string Body)> ReadyzAsync(TestEnvironment env)
    {
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = env.SafetyTimeout };
        using var response = await http.GetAsync(new Uri(env.RedirectUri + "/readyz"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Run_SmtpPortTakenAtStart_OthersServeReadyzNamesItUntilItBindsThenALoginWorks()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var taken = new TcpListener(IPAddress.Loopback, env.SmtpPort);
        taken.Start();
        ProxyProcess proxy;
        try
        {
            proxy = await env.StartProxyAsync();

            Assert.Contains(proxy.Output, l => l.Contains($"Cannot listen for SMTP on 127.0.0.1:{env.SmtpPort}: the port is in use by another program", StringComparison.Ordinal));
            Assert.Contains(proxy.Output, l => l.Contains($"Listening for IMAP on 127.0.0.1:{env.ImapPort}", StringComparison.Ordinal));
            Assert.Contains(proxy.Output, l => l.Contains($"Listening for POP3 on 127.0.0.1:{env.PopPort}", StringComparison.Ordinal));
            using (var imap = new ImapClient())
            {
                await imap.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
                Assert.True(imap.IsConnected);
            }
            var (status, body) = await ReadyzAsync(env);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal($"not ready:\n- the SMTP listener on 127.0.0.1:{env.SmtpPort} is not bound: the port is in use by another program (tried again every 5 s)\n", body);
        }
        finally
        {
            taken.Stop();
        }

        await proxy.WaitForLineAsync(l => l.Contains($"Listening for SMTP on 127.0.0.1:{env.SmtpPort}", StringComparison.Ordinal));
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await ReadyzAsync(env));
        Assert.Single(proxy.Output, l => l.Contains("Cannot listen for SMTP", StringComparison.Ordinal));

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            var refused = await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(TestEnvironment.Account, Password));
            Assert.Contains("OAuth2", refused.Message, StringComparison.Ordinal);
        }
        await env.SignInAsync(proxy);
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            await smtp.AuthenticateAsync(TestEnvironment.Account, Password);
            await smtp.DisconnectAsync(quit: true);
        }
        Assert.Equal(1, env.Smtp.AuthenticationAttempts);
        Assert.Equal(0, await proxy.StopAsync());
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Run_TokenFolderTakesNoFile_ReadyzNamesItUntilItDoesAgain()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await ReadyzAsync(env));

        Directory.CreateDirectory(env.TokenDirectory);
        var undo = await MakeReadOnlyAsync(env.TokenDirectory);
        try
        {
            var (status, body) = await ReadyzAsync(env);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.StartsWith($"not ready:\n- the token folder {env.TokenDirectory} ", body, StringComparison.Ordinal);
            Assert.Contains("so no sign-in or refresh can be saved", body, StringComparison.Ordinal);
        }
        finally
        {
            await undo();
        }
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await ReadyzAsync(env));
        Assert.Equal(0, await proxy.StopAsync());
    }

    /// <summary>
    /// Makes <paramref name="folder"/> take no new file, and returns how to undo it. chmod 0500 does that for
    /// any user but root, for whom mode bits do not stop a write: then the folder is made immutable
    /// (chattr +i, which root's writes obey, on filesystems that have it, as ext4 here), and where that is not
    /// available the folder is moved aside and a file put in its place.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    private static async Task<Func<Task>> MakeReadOnlyAsync(string folder)
    {
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        Func<Task> undo = () =>
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return Task.CompletedTask;
        };
        if (!TakesAFile(folder))
        {
            return undo;
        }
        if (await RunAsync("chattr", "+i", folder) == 0)
        {
            Assert.False(TakesAFile(folder), "chattr +i did not stop a write in the token folder");
            return async () =>
            {
                Assert.Equal(0, await RunAsync("chattr", "-i", folder));
                await undo();
            };
        }
        // No immutable flag on this filesystem (overlayfs in a container): a file in the folder's place takes no file either.
        await undo();
        var aside = folder + ".aside";
        Directory.Move(folder, aside);
        await File.WriteAllTextAsync(folder, "");
        return () =>
        {
            File.Delete(folder);
            Directory.Move(aside, folder);
            return Task.CompletedTask;
        };
    }

    private static bool TakesAFile(string folder)
    {
        var probe = Path.Combine(folder, "probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <returns>The exit code; -1 when the program is not installed.</returns>
    private static async Task<int> RunAsync(string program, params string[] arguments)
    {
        Process? started;
        try
        {
            started = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false, RedirectStandardError = true });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
        using var process = started ?? throw new InvalidOperationException($"{program} did not start");
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        return process.ExitCode;
    }
}
