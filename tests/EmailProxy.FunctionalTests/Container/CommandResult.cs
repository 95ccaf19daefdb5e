namespace EmailProxy.FunctionalTests.Container;

/// <summary>A finished command: its exit code and its standard output and error.</summary>
internal sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}\n{Error}";
}
