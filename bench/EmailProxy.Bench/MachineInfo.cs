using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace EmailProxy.Bench;

/// <summary>The machine and runtime the figures were measured on, as printed at the top of a run.</summary>
internal static class MachineInfo
{
    public static IEnumerable<string> Describe()
    {
        yield return $"cpu:          {CpuModel()} — nproc {Environment.ProcessorCount}";
        yield return $"memory:       {MemoryTotal()}";
        yield return $"os:           {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})";
        yield return $"dotnet:       SDK {DotnetVersion()}, runtime {RuntimeInformation.FrameworkDescription}";
        yield return $"open files:   ulimit -n {MemoryPart.OpenFileLimit()?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}";
        var environment = ProxyInstance.ExtraEnvironment.Count == 0 ? "" : "; environment " + string.Join(' ', ProxyInstance.ExtraEnvironment.Select(pair => $"{pair.Key}={pair.Value}"));
        yield return $"proxy:        {ProxyInstance.DllPath} (GC: {ProxyGcMode()}{environment})";
    }

    private static string CpuModel()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    private static string MemoryTotal()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        if (line is null)
        {
            return "unknown";
        }
        var kilobytes = long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return $"{kilobytes / 1024.0 / 1024.0:0.0} GiB (MemTotal {kilobytes} kB)";
    }

    private static string DotnetVersion()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("dotnet", "--version")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(ProxyInstance.DllPath)!,
            });
            if (process is null)
            {
                return "unknown";
            }
            var version = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return version;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    /// <summary>"server" or "workstation", from the proxy's runtimeconfig.json (Microsoft.NET.Sdk.Web defaults to server GC).</summary>
    private static string ProxyGcMode()
    {
        var path = Path.ChangeExtension(ProxyInstance.DllPath, ".runtimeconfig.json");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var properties)
                && properties.TryGetProperty("System.GC.Server", out var server) && server.GetBoolean()
                ? "server"
                : "workstation";
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "unknown";
        }
    }
}
