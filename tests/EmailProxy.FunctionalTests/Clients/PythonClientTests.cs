using System.Diagnostics;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>Python's imaplib, smtplib and poplib through the real proxy: plaintext, implicit TLS and STARTTLS/STLS.</summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task StandardLibraryClients_EveryProtocolAndMode_Work()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = TestMessages.Large(200 * 1024);
        env.Imap.AddMessage(message);
        env.Pop.AddMessage(message);
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "python_clients.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { script, $"{env.ImapPort}", $"{env.SmtpPort}", $"{env.PopPort}", TestEnvironment.Account, "pw", env.LocalCaFile })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains($"imap plain: OK {message.Length}", output, StringComparison.Ordinal);
        Assert.Contains($"imap ssl: OK {message.Length}", output, StringComparison.Ordinal);
        Assert.Contains("imap starttls: OK", output, StringComparison.Ordinal);
        Assert.Contains("smtp starttls: sent", output, StringComparison.Ordinal);
        Assert.Contains("smtp plain: sent", output, StringComparison.Ordinal);
        Assert.Contains("pop ssl: 1", output, StringComparison.Ordinal);
        Assert.Contains("pop stls: 1", output, StringComparison.Ordinal);
        Assert.Equal(2, env.Smtp.Messages.Count);
        Assert.Contains("PYTHON-SMTP-MARKER", System.Text.Encoding.UTF8.GetString(env.Smtp.Messages[0].Data), StringComparison.Ordinal);
    }
}
