using System.Diagnostics;
using System.Text;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// Runs a program to its end with a time limit (killed with its children past it) and returns what it
/// printed. For the container test's docker, docker-compose, dotnet publish and scripts.
/// </summary>
internal static class Command
{
    public static async Task<CommandResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (error) { error.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not end within {timeout}: {output}{error}");
        }
        process.WaitForExit();
        lock (output)
        {
            lock (error)
            {
                return new CommandResult(process.ExitCode, output.ToString(), error.ToString());
            }
        }
    }

    /// <summary><see cref="RunAsync"/>, and an exception with everything it printed unless it exits 0.</summary>
    public static async Task<CommandResult> CheckedAsync(string program, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var result = await RunAsync(program, arguments, timeout, environment, workingDirectory);
        return result.ExitCode == 0
            ? result
            : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {result}");
    }
}
