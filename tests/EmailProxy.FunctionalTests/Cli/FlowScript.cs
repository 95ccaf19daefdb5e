using System.Diagnostics;
using System.Text;
using EmailProxy.FunctionalTests.Container;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>Runs the repository's <c>test-oauth2-flow.sh</c> with its output collected, and notices when it shows what to open.</summary>
internal static class FlowScript
{
    public static string Path => System.IO.Path.Combine(DockerEngine.RepositoryRoot, "test-oauth2-flow.sh");

    /// <summary>
    /// Runs the script to its end: once it shows what to open, <paramref name="signIn"/> does what the person
    /// would; at most two minutes for the rest. The script is killed if the test gives up on it.
    /// </summary>
    internal static async Task<(int ExitCode, string Output)> RunSigningInAsync(string[] arguments, Func<Task> signIn, IReadOnlyDictionary<string, string>? environment = null)
    {
        var output = new StringBuilder();
        var urlShown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var script = Start(arguments, output, urlShown, environment);
        try
        {
            await urlShown.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await signIn();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await script.WaitForExitAsync(limit.Token);
        }
        finally
        {
            StopIfRunning(script);
        }
        return (script.ExitCode, Text(output));
    }

    /// <summary>A script the test gave up on is killed with its children (it may be in a sleep or a read).</summary>
    internal static void StopIfRunning(Process script)
    {
        if (!script.HasExited)
        {
            script.Kill(entireProcessTree: true);
            script.WaitForExit();
        }
    }

    internal static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    internal static Process Start(string[] arguments, StringBuilder output, TaskCompletionSource urlShown, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = new Process { StartInfo = start };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(line);
            }
            if (line.StartsWith("Open ", StringComparison.Ordinal))
            {
                urlShown.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
