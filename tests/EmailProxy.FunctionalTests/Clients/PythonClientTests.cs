using System.Diagnostics;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>Python's imaplib, smtplib and poplib through the real proxy: plaintext and implicit TLS on <c>auto</c> listeners, STARTTLS/STLS on <c>starttls</c> ones.</summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task StandardLibraryClients_EveryProtocolAndMode_Work()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = TestMessages.Large(200 * 1024);
        env.Imap.AddMessage(message);
        env.Pop.AddMessage(message);
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var auto = await RunAsync(env, "auto");
        Assert.True(auto.ExitCode == 0, auto.Output);
        Assert.Contains($"imap plain: OK {message.Length}", auto.Output, StringComparison.Ordinal);
        Assert.Contains($"imap ssl: OK {message.Length}", auto.Output, StringComparison.Ordinal);
        Assert.Contains("smtp ssl: sent", auto.Output, StringComparison.Ordinal);
        Assert.Contains("smtp plain: sent", auto.Output, StringComparison.Ordinal);
        Assert.Contains("pop ssl: 1", auto.Output, StringComparison.Ordinal);
        Assert.Equal(2, env.Smtp.Messages.Count);
        Assert.Contains("PYTHON-SMTP-MARKER", System.Text.Encoding.UTF8.GetString(env.Smtp.Messages[0].Data), StringComparison.Ordinal);

        // The same account, signed in already, on starttls listeners.
        Assert.Equal(0, await proxy.StopAsync());
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = starttls"));
        await env.StartProxyAsync();
        var startTls = await RunAsync(env, "starttls");
        Assert.True(startTls.ExitCode == 0, startTls.Output);
        Assert.Contains("imap starttls: OK", startTls.Output, StringComparison.Ordinal);
        Assert.Contains("smtp starttls: sent", startTls.Output, StringComparison.Ordinal);
        Assert.Contains("pop stls: 1", startTls.Output, StringComparison.Ordinal);
        Assert.Equal(3, env.Smtp.Messages.Count);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(TestEnvironment env, string mode)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "python_clients.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, mode, $"{env.ImapPort}", $"{env.SmtpPort}", $"{env.PopPort}", TestEnvironment.Account, "pw", env.LocalCaFile })
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
