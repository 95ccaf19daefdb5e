using System.Diagnostics;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// A Debian server program run in the foreground for one test (redis-server, haproxy): its output in an
/// <see cref="ObservableLog"/>, stopped by its PID with SIGTERM (SIGKILL after the safety timeout) on
/// <see cref="StopAsync"/> and on dispose, also when the test failed.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(string name, string program, IEnumerable<string> arguments)
    {
        Log = new ObservableLog(name);
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) =>
        {
            Log.Complete($"{name} exited");
            _exited.TrySetResult();
        };
    }

    /// <summary>Everything the program wrote, both streams.</summary>
    public ObservableLog Log { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="program"/> and waits for the output line that says it is ready (none when <paramref name="ready"/> is null: the caller has its own sign).</summary>
    public static async Task<ServerProcess> StartAsync(string name, string program, IEnumerable<string> arguments, Func<string, bool>? ready)
    {
        var server = new ServerProcess(name, program, arguments);
        try
        {
            server._process.Start();
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            if (ready is not null)
            {
                await server.Log.WaitForAsync(ready);
            }
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGTERM, then waits for the exit (SIGKILL after the safety timeout).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            Send("TERM");
        }
        try
        {
            await _exited.Task.WaitAsync(ObservableLog.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
            await _exited.Task;
        }
    }

    /// <summary>SIGKILL: the program gets no chance to save anything (a crash).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _exited.Task.WaitAsync(ObservableLog.DefaultTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_exited.Task.IsCompleted && IsStarted())
            {
                await StopAsync();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private bool IsStarted()
    {
        try
        {
            _ = _process.Id;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Sends a signal by name (<c>STOP</c>, <c>CONT</c>, <c>TERM</c>) with <c>kill</c>.</summary>
    public void Send(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        kill?.WaitForExit();
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            Log.Add(line);
        }
    }
}
