using System.Diagnostics;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>The emailproxy command line, run as a person runs it.</summary>
public sealed class CommandLineTests
{
    private const string SeedConfig = """
        [general]
        redirect_uri      = http://127.0.0.1:18089
        local_server_auth = true
        log_level         = debug

        [server outlook.office365.com]
        imap_host = outlook.office365.com
        imap_port = 993
        smtp_host = smtp.office365.com
        smtp_port = 587
        ssl = true
        starttls = true

        [account sales@thekpsgroup.com]
        client_id = fbab4542-c890-4455-bb78-f0ce5e3e17e9
        tenant    = 6627d97c-a18f-487c-bb7a-d0d6e1640a28
        username  = sales@thekpsgroup.com
        server    = outlook.office365.com
        scope     = https://graph.microsoft.com/IMAP.AccessAsUser.All https://graph.microsoft.com/SMTP.Send offline_access
        """;

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

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        var (exit, output) = await RunAsync("--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
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
