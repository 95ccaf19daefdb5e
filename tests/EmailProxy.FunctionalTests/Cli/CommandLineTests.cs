using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>The emailproxy command line, run as a person runs it.</summary>
public sealed class CommandLineTests
{
    /// <summary>The seed README's file (tests/data/seed.config, shared with the unit tests).</summary>
    private static readonly string SeedConfig = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "seed.config"));

    [Fact]
    public async Task Check_SeedConfig_IsUsableButWarnsAboutTheGraphScope()
    {
        var path = Path.Combine(Path.GetTempPath(), $"seed-{Guid.NewGuid():N}.config");
        await File.WriteAllTextAsync(path, SeedConfig);
        try
        {
            var (exit, output) = await RunAsync("check", "--config", path);
            Assert.Equal(0, exit);
            Assert.Contains("warning: [account sales@thekpsgroup.com] scope: graph.microsoft.com tokens are refused", output, StringComparison.Ordinal);
            Assert.Contains(": usable", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Check_BrokenConfig_ExitsOneAndNamesEachProblem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.config");
        await File.WriteAllTextAsync(path, SeedConfig.Replace("imap_port = 993", "imap_port = 99999", StringComparison.Ordinal).Replace("client_id = fbab4542-c890-4455-bb78-f0ce5e3e17e9", "", StringComparison.Ordinal));
        try
        {
            var (exit, output) = await RunAsync("check", "--config", path);
            Assert.Equal(1, exit);
            Assert.Contains("error: [server outlook.office365.com] imap_port = '99999': must be a whole number from 1 to 65535", output, StringComparison.Ordinal);
            Assert.Contains("error: [account sales@thekpsgroup.com] client_id: is required", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The HTTP port still stops the start (a mail port in use is retried instead: MailListenerTests).</summary>
    [Fact]
    public async Task Run_HttpPortInUse_ExitsOneWithOneLineAndNoStackTrace()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"port-in-use-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var taken = new TcpListener(IPAddress.Loopback, TestEnvironment.GetFreePort());
        taken.Start();
        try
        {
            var port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var path = Path.Combine(folder, "emailproxy.config");
            await File.WriteAllTextAsync(path, $"""
                [general]
                redirect_uri = http://127.0.0.1:{port}
                imap_listen = 127.0.0.1:{TestEnvironment.GetFreePort()}
                smtp_listen = 127.0.0.1:{TestEnvironment.GetFreePort()}
                local_tls = off

                [server s]
                imap_host = imap.example.com
                smtp_host = smtp.example.com

                [account a]
                client_id = id

                """);

            var (exit, output) = await RunAsync("--config", path);

            Assert.Equal(1, exit);
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("emailproxy: cannot listen: ", line, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        }
        finally
        {
            taken.Stop();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task EspoCrm_SeedConfig_PrintsTheScreensFieldsAndTheAllowedAddressList()
    {
        var path = Path.Combine(Path.GetTempPath(), $"seed-{Guid.NewGuid():N}.config");
        await File.WriteAllTextAsync(path, SeedConfig);
        try
        {
            var (exit, output) = await RunAsync("espocrm", "--config", path);
            Assert.Equal(0, exit);
            Assert.Contains("[account sales@thekpsgroup.com]", output, StringComparison.Ordinal);
            Assert.Contains("    Port:            1993", output, StringComparison.Ordinal);
            Assert.Contains("    SMTP Port:       1587", output, StringComparison.Ordinal);
            Assert.Contains("'emailServerAllowedAddressList' => ['127.0.0.1:1993', '127.0.0.1:1587'],", output, StringComparison.Ordinal);
            Assert.Contains("update-ca-certificates", output, StringComparison.Ordinal);

            var (unknownExit, unknownOutput) = await RunAsync("espocrm", "nobody@example.com", "--config", path);
            Assert.Equal(1, unknownExit);
            Assert.Equal($"emailproxy: {path}: there is no [account nobody@example.com]", unknownOutput.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        var (exit, output) = await RunAsync("--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    /// <summary>
    /// <c>tokens list</c> without a running proxy, against a token file the token store wrote (the
    /// casefold folder of tests/data: its README gives the key and the secrets): the account is signed
    /// in, the other needs a sign-in, and neither the tokens nor the key are printed.
    /// </summary>
    [Fact]
    public async Task TokensList_TokenFolderOfTheStore_ShowsStatesAndNoSecret()
    {
        const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        var folder = Path.Combine(Path.GetTempPath(), $"tokens-list-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(folder, "tokens"));
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "data", "casefold-token-folder", "kate@example.com.json"), Path.Combine(folder, "tokens", "kate@example.com.json"));
            await File.WriteAllTextAsync(Path.Combine(folder, "emailproxy.key"), Key + "\n");
            var path = Path.Combine(folder, "emailproxy.config");
            await File.WriteAllTextAsync(path, """
                [general]
                local_tls = off

                [server s]
                imap_host = imap.example.com

                [account kate@example.com]
                client_id = id
                username  = user@example.com

                [account nobody@example.com]
                client_id = id

                """);

            var (exit, output) = await RunAsync("tokens", "list", "--config", path);

            Assert.Equal(0, exit);
            Assert.Contains("[account kate@example.com]", output, StringComparison.Ordinal);
            Assert.Contains("  state:          signed in", output, StringComparison.Ordinal);
            Assert.Contains("  access token:   expired 2026-12-06 05:00:00Z", output, StringComparison.Ordinal);
            Assert.Contains("  refresh token:  last rotated 2026-12-05 06:00:00Z", output, StringComparison.Ordinal);
            Assert.Contains("  state:          needs sign-in: there is no token file", output, StringComparison.Ordinal);
            foreach (var secret in new[] { "fake-rt-casefold", "fake-at-casefold", "casefold-kate", "casefold-expired", Key[..12] })
            {
                Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ProxyProcess.DllPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        return (process.ExitCode, await stdout + await stderr);
    }
}
