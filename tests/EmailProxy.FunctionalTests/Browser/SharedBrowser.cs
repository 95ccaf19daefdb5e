using Xunit;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// The browser tests share one <see cref="BrowserFixture"/> and run one after another: one chromium at a time
/// beside the other functional tests on the CI's two cores.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedBrowser : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
