using EmailProxy.Configuration;

namespace EmailProxy.Tests.Configuration;

public sealed class LiveConfigTests
{
    private static ProxyConfig Config(string path) => new(path, new GeneralOptions(), new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());

    [Fact]
    public void Swap_NewConfiguration_EveryLaterReaderSeesItAndTheChangeIsTold()
    {
        var first = Config("/etc/a.ini");
        var second = Config("/etc/b.ini");
        var live = new LiveConfig(first);
        (ProxyConfig Before, ProxyConfig After)? told = null;
        live.Changed += (before, after) => told = (before, after);

        var replaced = live.Swap(second);

        Assert.Same(first, replaced);
        Assert.Same(second, live.Current);
        Assert.Equal((first, second), told);
    }

    [Fact]
    public void Current_NoSwap_IsTheConfigurationOfTheStart()
    {
        var first = Config("/etc/a.ini");

        Assert.Same(first, new LiveConfig(first).Current);
    }
}
