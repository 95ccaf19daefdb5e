using Xunit;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// The image tests run alone, after the others: publishing the binary and building the image load both cores,
/// which must not delay the timing-sensitive tests running beside them. They share one <see cref="DockerEngine"/>: the
/// engine is started, and the image built, once.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerTestsRunAlone : ICollectionFixture<DockerEngine>
{
    public const string Name = "Container";
}
