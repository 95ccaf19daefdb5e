using Xunit;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// The image tests run alone, after the others: publishing the binary and building the image load both cores,
/// which must not delay the timing-sensitive tests running beside them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerTestsRunAlone
{
    public const string Name = "Container";
}
