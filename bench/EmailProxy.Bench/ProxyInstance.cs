using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace EmailProxy.Bench;

/// <summary>
/// The real proxy as its own process (<c>dotnet emailproxy.dll --config FILE</c>, the build of the same
/// configuration as the bench), ready once its <c>/healthz</c> answers. Its output is kept, counted, not shown.
/// </summary>
internal sealed class ProxyInstance : IAsyncDisposable
{
    private const int KeptLines = 50;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lastLines = new();
    private int _lineCount;

    private ProxyInstance(Process process, int imapPort, int httpPort)
    {
        _process = process;
        ImapPort = imapPort;
        HttpPort = httpPort;
    }

    /// <summary>Variables set for the proxy process on top of the bench's environment (<c>--proxy-env</c>).</summary>
    public static IReadOnlyDictionary<string, string> ExtraEnvironment { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>A build to measure instead of the one built with the bench (<c>--proxy-dll</c>).</summary>
    public static string? DllOverride { get; set; }

    /// <summary>The proxy's dll: <see cref="DllOverride"/>, else this assembly's <c>[AssemblyMetadata("EmailProxyDll", ...)]</c>.</summary>
    public static string DllPath => DllOverride ?? Path.GetFullPath(
        typeof(ProxyInstance).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "EmailProxyDll")?.Value
        ?? throw new InvalidOperationException("The bench assembly has no EmailProxyDll metadata."));

    public int ImapPort { get; }

    public int HttpPort { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Lines the proxy wrote to standard output and error so far (log_level = warning: problems only).</summary>
    public int OutputLineCount => Volatile.Read(ref _lineCount);

    public IReadOnlyList<string> LastLines => [.. _lastLines];

    public static async Task<ProxyInstance> StartAsync(string configPath, int imapPort, int httpPort, CancellationToken cancellationToken)
    {
        var instance = Launch(configPath, imapPort, httpPort);
        try
        {
            await instance.WaitUntilHealthyAsync(cancellationToken);
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
        return instance;
    }

    /// <summary>Starts the process and returns at once, not waiting for it to listen (the start-up part times that).</summary>
    public static ProxyInstance Launch(string configPath, int imapPort, int httpPort)
    {
        if (!File.Exists(DllPath))
        {
            throw new FileNotFoundException($"The proxy is not built: {DllPath}", DllPath);
        }
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(configPath)!,
        };
        start.ArgumentList.Add(DllPath);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        start.Environment.Remove("EMAILPROXY_SECRET");
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in ExtraEnvironment)
        {
            start.Environment[name] = value;
        }
        var process = new Process { StartInfo = start };
        var instance = new ProxyInstance(process, imapPort, httpPort);
        process.OutputDataReceived += (_, e) => instance.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => instance.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return instance;
    }

    /// <summary>The process's resident set size (VmRSS of /proc/PID/status), in bytes.</summary>
    public long ReadResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS line");
    }

    /// <summary>The process's memory from /proc/PID/smaps_rollup (Rss, Anonymous, ...): what is private to it and what is mapped files.</summary>
    public ProcessMemory ReadMemory() => ProcessMemory.Read(_process.Id);

    /// <summary>The process's threads (Threads: of /proc/PID/status).</summary>
    public int ReadThreadCount()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                return int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>User + system CPU time the process has used (utime + stime of /proc/PID/stat).</summary>
    public TimeSpan ReadCpuTime()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0; utime and stime are fields 14 and 15.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>SIGTERM, then up to 15 s for a clean exit, then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false }))
            {
                if (kill is not null)
                {
                    await kill.WaitForExitAsync();
                }
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }
        _process.Dispose();
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The proxy exited with code {_process.ExitCode}:\n{string.Join('\n', LastLines)}");
            }
            try
            {
                var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/healthz"), cancellationToken);
                if (body.StartsWith("ok", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"The proxy did not answer /healthz within 30 s:\n{string.Join('\n', LastLines)}");
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        Interlocked.Increment(ref _lineCount);
        _lastLines.Enqueue(line);
        while (_lastLines.Count > KeptLines && _lastLines.TryDequeue(out _))
        {
        }
    }
}
