namespace EmailProxy.Tests.Cli;

/// <summary>Tests that replace <see cref="Console"/>'s reader and writers (global to the process) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleTestsRunAlone
{
    public const string Name = "Console";
}
