using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Load;
using Xunit;
using Xunit.Abstractions;

namespace EmailProxy.FunctionalTests.Bench;

/// <summary>
/// The README's test command runs the bench's smoke run (<c>bench --smoke</c>: every part through its whole path, each
/// cut smaller than <c>--short</c>, which stays the shortest run worth reading) and writes its report to the test output: the figures are recorded, never asserted (they are the machine's, and CI's
/// is shared). The test asserts only that the bench completed: exit code 0, every part it lists done, the summary.
/// It runs the bench built beside the tests (the solution builds it, in the same configuration), building it first
/// when only the test project was built; alone, with the load tests, since it loads the machine.
/// </summary>
[Collection(LoadTestsRunAlone.Name)]
public sealed partial class ShortBenchTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task Bench_Smoke_EveryPartCompletes()
    {
        var bench = await BuiltBenchAsync();
        var lines = new List<string>();
        var (exitCode, elapsed) = await RunAsync("dotnet", [bench, "--smoke"], lines);
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
        output.WriteLine($"(bench --smoke: exit code {exitCode} after {elapsed.TotalSeconds:0} s)");

        Assert.Equal(0, exitCode);
        var parts = lines.Select(line => PartsLine().Match(line)).FirstOrDefault(match => match.Success)
            ?? throw new Xunit.Sdk.XunitException("The bench printed no 'parts:' line.");
        var all = parts.Groups["all"].Value.Split(", ");
        Assert.Equal(all, parts.Groups["run"].Value.Split(", "));
        Assert.All(all, part => Assert.Contains($"part {part} done", lines));
        Assert.Contains(lines, line => line.StartsWith("summary (", StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>bench relay --smoke</c>: the relay against socat and a direct connection to the real Dovecot, plaintext and
    /// implicit TLS on the client side, every workload once with small messages; the figures go to the test output, unasserted.
    /// </summary>
    [Fact]
    public async Task BenchRelay_Smoke_EveryWorkloadOnBothClientSidesCompletes()
    {
        var bench = await BuiltBenchAsync();
        var lines = new List<string>();
        var (exitCode, elapsed) = await RunAsync("dotnet", [bench, "relay", "--smoke"], lines);
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
        output.WriteLine($"(bench relay --smoke: exit code {exitCode} after {elapsed.TotalSeconds:0} s)");

        Assert.Equal(0, exitCode);
        Assert.Contains(lines, line => line.StartsWith("1. plaintext client side", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("2. implicit TLS client side", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("summary (", StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>bench scaleout --smoke</c>: a few logins through each of the four paths (one file-store proxy, one Redis-store
    /// proxy, three Redis-store proxies behind haproxy, the file-store proxy behind haproxy) and one expired-token wave
    /// each through the file-store proxy and the three replicas, with Debian's redis-server and haproxy started and
    /// stopped by the bench; the figures go to the test output, unasserted (10–26 s on a shared 2-core machine).
    /// </summary>
    [Fact]
    public async Task BenchScaleOut_Smoke_EveryPathAndWaveCompletes()
    {
        var bench = await BuiltBenchAsync();
        var lines = new List<string>();
        var (exitCode, elapsed) = await RunAsync("dotnet", [bench, "scaleout", "--smoke"], lines);
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }
        output.WriteLine($"(bench scaleout --smoke: exit code {exitCode} after {elapsed.TotalSeconds:0} s)");

        Assert.Equal(0, exitCode);
        Assert.Contains("part warm done", lines);
        Assert.Contains("part waves done", lines);
        Assert.Contains(lines, line => line.StartsWith("summary (", StringComparison.Ordinal));
    }

    /// <summary>The bench's dll in this build's configuration; built first when missing.</summary>
    private async Task<string> BuiltBenchAsync()
    {
        var root = Path.GetFullPath(typeof(ShortBenchTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(attribute => attribute.Key == "RepositoryRoot").Value!);
        // This assembly is in tests/EmailProxy.FunctionalTests/bin/CONFIGURATION/FRAMEWORK/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var project = Path.Combine(root, "bench", "EmailProxy.Bench");
        var bench = Path.Combine(project, "bin", configuration, framework.Name, "EmailProxy.Bench.dll");
        if (!File.Exists(bench))
        {
            var build = new List<string>();
            var (exitCode, _) = await RunAsync("dotnet", ["build", project, "-c", configuration], build);
            Assert.True(exitCode == 0 && File.Exists(bench), $"dotnet build of the bench failed ({exitCode}):\n{string.Join('\n', build.TakeLast(30))}");
            output.WriteLine($"(built {bench})");
        }
        return bench;
    }

    private static async Task<(int ExitCode, TimeSpan Elapsed)> RunAsync(string file, string[] arguments, List<string> lines)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = new Process { StartInfo = start };
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        }
        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        var started = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} ran longer than {Limit.TotalMinutes:0} minutes:\n{string.Join('\n', lines.TakeLast(30))}");
        }
        // The output's last lines arrive after the exit: WaitForExitAsync waits for the redirected streams' end too.
        return (process.ExitCode, started.Elapsed);
    }

    [GeneratedRegex("^parts: +(?<run>[a-z, ]+) \\(of (?<all>[a-z, ]+)\\)$")]
    private static partial Regex PartsLine();
}
