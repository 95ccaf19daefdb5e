using Xunit;

namespace EmailProxy.FunctionalTests.Browser;

/// <summary>
/// The browser tests share one <see cref="BrowserFixture"/> and run one after another, and after the other
/// functional tests, alone: chromium's load on the CI's two cores must not delay the timing-sensitive tests
/// (a TLS client's hello arriving after the listener's sniffing wait, say).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedBrowser : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
