using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The real proxy run as its own process (<c>dotnet emailproxy.dll --config FILE</c>), with its standard output
/// and error captured line by line.
/// </summary>
internal sealed class ProxyProcess : IAsyncDisposable
{
    /// <summary>The line the proxy prints once every listener is up.</summary>
    public const string StartedMarker = "Email OAuth2 Proxy started";

    private readonly Process _process;
    private readonly ObservableLog _output = new("proxy output");
    private readonly List<string> _standardError = [];
    private Task _exited = Task.CompletedTask;
    private bool _started;

    /// <param name="configPath">The configuration file given as <c>--config</c>.</param>
    /// <param name="environment">Variables to set (a null value removes one) on top of the inherited environment,
    /// from which EMAILPROXY_SECRET is always removed first.</param>
    /// <param name="extraArguments">Arguments appended after <c>--config FILE</c>.</param>
    /// <param name="workingDirectory">The working directory; the current one when null.</param>
    public ProxyProcess(
        string configPath,
        IReadOnlyDictionary<string, string?>? environment = null,
        IEnumerable<string>? extraArguments = null,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add(DllPath);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        foreach (var argument in extraArguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("EMAILPROXY_SECRET");
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, isError: false);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, isError: true);
    }

    /// <summary>The proxy's dll, from the test assembly's <c>[AssemblyMetadata("EmailProxyDll", ...)]</c>.</summary>
    public static string DllPath
    {
        get
        {
            var value = typeof(ProxyProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(attribute => attribute.Key == "EmailProxyDll")?.Value
                ?? throw new InvalidOperationException("The test assembly has no EmailProxyDll metadata.");
            return Path.GetFullPath(value);
        }
    }

    /// <summary>All lines of standard output and standard error, in the order they were read.</summary>
    public IReadOnlyList<string> Output => _output.Lines;

    /// <summary>The lines of standard error only.</summary>
    public IReadOnlyList<string> StandardError
    {
        get
        {
            lock (_standardError)
            {
                return [.. _standardError];
            }
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _started && _process.HasExited;

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => HasExited ? _process.ExitCode : null;

    /// <summary>All captured output as one text, for assertion messages.</summary>
    public string Describe() => _output.Describe();

    /// <summary>Starts the process without waiting for it to be ready.</summary>
    public void Launch()
    {
        if (!File.Exists(DllPath))
        {
            throw new FileNotFoundException($"The proxy is not built: {DllPath}", DllPath);
        }

        _process.Start();
        _started = true;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _exited = WatchExitAsync();
    }

    /// <summary>Starts the process and waits for <see cref="StartedMarker"/>; fails with the output if it exits first.</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        Launch();
        await WaitForLineAsync(line => line.Contains(StartedMarker, StringComparison.Ordinal), timeout);
    }

    /// <summary>Completes with the first line (already seen or to come) matching the predicate.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan? timeout = null) => _output.WaitForAsync(predicate, timeout);

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        try
        {
            await _exited.WaitAsync(timeout ?? ObservableLog.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The proxy did not exit within {(timeout ?? ObservableLog.DefaultTimeout).TotalSeconds} s.\n{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM and waits for the exit (killing the process after the safety timeout); returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_started)
        {
            throw new InvalidOperationException("The proxy was not started.");
        }

        if (!_process.HasExited)
        {
            await SendSignalAsync("TERM");
        }

        try
        {
            await _exited.WaitAsync(timeout ?? ObservableLog.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
            await _exited;
            throw new TimeoutException($"The proxy did not exit within {(timeout ?? ObservableLog.DefaultTimeout).TotalSeconds} s of SIGTERM and was killed.\n{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends a signal by name (<c>HUP</c>, <c>TERM</c>) with <c>kill</c>, as an operator or systemd's <c>ExecReload</c> does.</summary>
    public async Task SendSignalAsync(string signal)
    {
        if (!_started)
        {
            throw new InvalidOperationException("The proxy was not started.");
        }

        using var kill = Process.Start(new ProcessStartInfo("kill")
        {
            ArgumentList = { "-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture) },
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("Could not run kill.");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} exited with {kill.ExitCode}.");
        }
    }

    /// <summary>Runs <c>emailproxy hash-password</c> with the password on standard input, as an operator does, and returns the hash it prints.</summary>
    public static async Task<string> HashPasswordAsync(string password)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [DllPath, "hash-password"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        await process.StandardInput.WriteLineAsync(password);
        process.StandardInput.Close();
        var hash = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        if (process.ExitCode != 0 || hash.Length == 0)
        {
            throw new InvalidOperationException($"emailproxy hash-password exited with {process.ExitCode}.");
        }
        return hash;
    }

    /// <summary>Writes one line to the proxy's standard input (the test-only pause of the file writer waits for one).</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>SIGKILL: no shutdown, no flush — as a crash or an OOM kill would end it.</summary>
    public async Task<int> KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        return await WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_started && !_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        if (_started)
        {
            await _exited.WaitAsync(ObservableLog.DefaultTimeout);
        }

        _process.Dispose();
    }

    private async Task WatchExitAsync()
    {
        // With asynchronous reading, this also waits until both output streams have reached their end.
        await _process.WaitForExitAsync();
        _output.Complete($"The proxy exited with code {_process.ExitCode}");
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        if (isError)
        {
            lock (_standardError)
            {
                _standardError.Add(line);
            }
        }

        _output.Add(line);
    }
}
