using System.Diagnostics;
using System.Text;
using EmailProxy.FunctionalTests.Container;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>Runs the repository's <c>test-oauth2-flow.sh</c> with its output collected, and notices when it shows what to open.</summary>
internal static class FlowScript
{
    public static string Path => System.IO.Path.Combine(DockerEngine.RepositoryRoot, "test-oauth2-flow.sh");

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
