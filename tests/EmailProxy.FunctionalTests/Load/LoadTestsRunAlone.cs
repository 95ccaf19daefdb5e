using Xunit;

namespace EmailProxy.FunctionalTests.Load;

/// <summary>The load tests run alone, after the others, so that neither disturbs the other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadTestsRunAlone
{
    public const string Name = "Load";
}
