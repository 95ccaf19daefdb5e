using System.Diagnostics;
using EmailProxy.FunctionalTests.Container;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Deploy;

/// <summary>
/// deploy/systemd: the unit passes <c>systemd-analyze verify</c> (Debian's systemd; this machine does not boot
/// with systemd, so the service itself cannot be started here), and the example configuration it goes with
/// keeps everything the proxy writes in the StateDirectory, since the unit makes the rest read-only.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private const string StateDirectory = "/var/lib/emailproxy";
    private static readonly string UnitPath = Path.Combine(DockerEngine.RepositoryRoot, "deploy", "systemd", "emailproxy.service");
    private static readonly string ExampleConfigPath = Path.Combine(DockerEngine.RepositoryRoot, "deploy", "systemd", "emailproxy.config");
    private static readonly string[] StateEntries = ["emailproxy.key", "tls", "tokens", "tokens.instance.lock"];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"systemd-{Guid.NewGuid():N}");

    public SystemdUnitTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Verify_TheUnit_IsCleanWithTheProgramInPlace()
    {
        // verify insists that ExecStart's program exists: the built apphost stands in for /usr/local/bin/emailproxy.
        var program = Path.ChangeExtension(ProxyProcess.DllPath, null);
        Assert.True(File.Exists(program), $"the proxy's apphost is built: {program}");
        var unit = Path.Combine(_folder, "emailproxy.service");
        await File.WriteAllTextAsync(unit, (await File.ReadAllTextAsync(UnitPath)).Replace("/usr/local/bin/emailproxy", program, StringComparison.Ordinal));

        var (exit, output) = await RunAsync("systemd-analyze", "verify", unit);

        Assert.True(exit == 0 && output.Length == 0, $"systemd-analyze verify exited {exit}:\n{output}");
    }

    [Fact]
    public async Task Unit_SandboxAndReload_AreTheOnesTheDocsPromise()
    {
        var lines = (await File.ReadAllLinesAsync(UnitPath)).Select(line => line.Trim()).Where(line => line.Length > 0 && line[0] != '#').ToList();

        foreach (var expected in new[]
        {
            "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=", "StateDirectory=emailproxy", "StateDirectoryMode=0700",
            "User=emailproxy", "ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/local/bin/emailproxy run --config /etc/emailproxy/emailproxy.config",
        })
        {
            Assert.Contains(expected, lines);
        }
        Assert.DoesNotContain(lines, line => line.StartsWith("MemoryDenyWriteExecute=yes", StringComparison.Ordinal));
        // The proxy stops within its 10 s shutdown timeout; systemd must not kill it first.
        var stop = lines.Single(line => line.StartsWith("TimeoutStopSec=", StringComparison.Ordinal));
        Assert.True(int.Parse(stop["TimeoutStopSec=".Length..], System.Globalization.CultureInfo.InvariantCulture) > 10, stop);
    }

    /// <summary>
    /// The example configuration run as the unit runs it: the config folder stays as it was (under ProtectSystem=strict
    /// it is read-only) and the master key and the local CA appear in the state folder.
    /// </summary>
    [Fact]
    public async Task ExampleConfig_Run_WritesOnlyIntoTheStateDirectory()
    {
        var configFolder = Directory.CreateDirectory(Path.Combine(_folder, "etc")).FullName;
        var state = Path.Combine(_folder, "state");
        Directory.CreateDirectory(state);
        var config = Path.Combine(configFolder, "emailproxy.config");
        var web = TestEnvironment.GetFreePort();
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(ExampleConfigPath))
            .Replace(StateDirectory, state, StringComparison.Ordinal)
            .Replace("127.0.0.1:1993", $"127.0.0.1:{TestEnvironment.GetFreePort()}", StringComparison.Ordinal)
            .Replace("127.0.0.1:1587", $"127.0.0.1:{TestEnvironment.GetFreePort()}", StringComparison.Ordinal)
            .Replace("127.0.0.1:18089", $"127.0.0.1:{web}", StringComparison.Ordinal));
        Assert.Contains($"tls_dir           = {state}/tls", await File.ReadAllTextAsync(config), StringComparison.Ordinal);

        var (checkExit, checkOutput) = await RunAsync("dotnet", ProxyProcess.DllPath, "check", "--config", config);
        Assert.True(checkExit == 0, checkOutput);

        await using (var proxy = new ProxyProcess(config, workingDirectory: state))
        {
            await proxy.StartAsync();
            Assert.Equal(0, await proxy.StopAsync());
        }

        Assert.Equal([config], Directory.GetFileSystemEntries(configFolder));
        Assert.True(File.Exists(Path.Combine(state, "emailproxy.key")), "the master key is in the state folder");
        // The tokens' folder is made with the first token, the instance lock beside it: only here, if at all.
        Assert.All(Directory.GetFileSystemEntries(state), entry => Assert.Contains(Path.GetFileName(entry), StateEntries));
        Assert.True(File.Exists(Path.Combine(state, "tls", "ca.pem")), "the local CA is in the state folder");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, (await output + await error).Trim());
    }
}
