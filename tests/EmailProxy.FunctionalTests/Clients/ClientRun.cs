using System.Diagnostics;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// One bounded run of a real client from Debian's packages: HOME is the test's own folder (so no user configuration is
/// read), standard input is the given text or nothing and is closed, and a run that outlives its timeout is killed by
/// its process id together with its children.
/// </summary>
internal static class ClientRun
{
    /// <summary>The longest any one client may run.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<ClientRunResult> RunAsync(
        string home,
        string file,
        IEnumerable<string> arguments,
        byte[]? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = home,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["HOME"] = home;
        start.Environment["LC_ALL"] = "C.UTF-8";
        start.Environment.Remove("SSL_CERT_FILE");
        start.Environment.Remove("SSL_CERT_DIR");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (input is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(input);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The client ended (or closed its input) before reading it all: its exit code and output tell why.
        }

        int? exitCode;
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
                exitCode = process.ExitCode;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                exitCode = null;
            }
        }
        return new ClientRunResult($"{file} {string.Join(' ', start.ArgumentList)}", exitCode, await stdout, await stderr);
    }
}
