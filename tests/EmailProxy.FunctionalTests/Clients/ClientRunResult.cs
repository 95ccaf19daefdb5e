namespace EmailProxy.FunctionalTests.Clients;

/// <summary>What a bounded run of a real client left: its exit code (null when it was killed at the timeout) and its output.</summary>
internal sealed record ClientRunResult(string Command, int? ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>For assertion messages: the command, how it ended and everything it printed.</summary>
    public override string ToString() =>
        $"{Command} -> {(ExitCode is { } code ? $"exit {code}" : "killed at the timeout")}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
}
