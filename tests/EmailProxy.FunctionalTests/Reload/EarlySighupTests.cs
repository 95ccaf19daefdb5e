using System.Diagnostics;
using System.Security.Cryptography;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Reload;

/// <summary>
/// SIGHUP while the proxy starts (an early <c>systemctl reload</c>) must not end it: SIGHUP's default action
/// would, and systemd counts that as a clean exit (<c>Restart=on-failure</c> leaves the unit down).
/// </summary>
public sealed class EarlySighupTests
{
    [Fact]
    public async Task Sighup_WhileTheProxyStarts_ItStartsServesAndStopsCleanly()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig();
        // secret_file is a FIFO: the start blocks reading it until this test writes the key, so the signal
        // comes at a known point, after the configuration was read and before the host exists. No sleeping.
        await MakeFifoAsync(env.SecretFile);
        var proxy = env.CreateProxy();
        proxy.Launch();

        var open = Task.Run(() => new FileStream(env.SecretFile, FileMode.Open, FileAccess.Write));
        FileStream key;
        try
        {
            key = await open.WaitAsync(ObservableLog.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            // Release the open that waits for a reader, then fail with the proxy's output.
            using (new FileStream(env.SecretFile, FileMode.Open, FileAccess.Read))
            {
            }
            (await open).Dispose();
            throw new TimeoutException($"The proxy never read secret_file.\n{proxy.Describe()}");
        }
        await proxy.SendSignalAsync("HUP");
        try
        {
            await using (key)
            {
                await key.WriteAsync(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n"));
            }
        }
        catch (IOException)
        {
            // Nobody reads any more: the signal ended the proxy. Said below, with its output.
        }

        await proxy.WaitForLineAsync(line => line.Contains(ProxyProcess.StartedMarker, StringComparison.Ordinal));
        // The signal is taken once the proxy has started: the file is as the start read it, so nothing changes.
        var taken = await proxy.WaitForLineAsync(line => line.Contains("SIGHUP", StringComparison.Ordinal));
        Assert.False(proxy.HasExited, proxy.Describe());
        Assert.DoesNotContain("not reloaded", taken, StringComparison.Ordinal);
        await using (var client = await LineClient.ConnectAsync(env.ImapPort))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        Assert.Equal(0, await proxy.StopAsync());
    }

    private static async Task MakeFifoAsync(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo") { ArgumentList = { "-m", "600", path }, UseShellExecute = false })
            ?? throw new InvalidOperationException("Could not run mkfifo.");
        await mkfifo.WaitForExitAsync();
        Assert.Equal(0, mkfifo.ExitCode);
    }
}
