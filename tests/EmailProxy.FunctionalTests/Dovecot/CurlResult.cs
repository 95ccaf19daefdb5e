using System.Text;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>What one curl run gave: its exit code, its standard output as bytes, and its standard error.</summary>
internal sealed record CurlResult(int ExitCode, byte[] Output, string Error)
{
    /// <summary>For assertion messages: exit code, standard error and the start of the output.</summary>
    public string Describe() => $"curl exited {ExitCode}: {Error} | {Encoding.UTF8.GetString(Output, 0, Math.Min(Output.Length, 500))}";
}
