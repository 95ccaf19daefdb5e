using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Graph;

/// <summary>A <see cref="TestEnvironment"/> whose account sends through <see cref="FakeGraphServer"/> (smtp_via), its proxy started and signed in.</summary>
internal sealed class GraphEnvironment : IAsyncDisposable
{
    private GraphEnvironment(TestEnvironment env, FakeGraphServer graph, ProxyProcess proxy)
    {
        Env = env;
        Graph = graph;
        Proxy = proxy;
    }

    public TestEnvironment Env { get; }

    public FakeGraphServer Graph { get; }

    public ProxyProcess Proxy { get; }

    /// <param name="via">The account's smtp_via.</param>
    /// <param name="more">More configuration after the account's lines ({graph_url} stands for the fake's address).</param>
    /// <param name="environment">Variables for the proxy's process.</param>
    public static async Task<GraphEnvironment> StartAsync(string via = "graph", string more = "", IReadOnlyDictionary<string, string?>? environment = null)
    {
        var env = await TestEnvironment.CreateAsync();
        var graph = new FakeGraphServer(env.Identity);
        try
        {
            await graph.StartAsync();
            // The account's section is the default configuration's last: these lines belong to it.
            env.WriteConfig(append: $"smtp_via = {via}\ngraph_url = {graph.Url}\n" + more.Replace("{graph_url}", graph.Url.ToString(), StringComparison.Ordinal));
            var proxy = await env.StartProxyAsync(environment);
            await ImapProxyTests.SignInFromStatusPageAsync(env);
            return new GraphEnvironment(env, graph, proxy);
        }
        catch
        {
            await graph.DisposeAsync();
            await env.DisposeAsync();
            throw;
        }
    }

    /// <summary>Token requests that asked for a Microsoft Graph scope.</summary>
    public int GraphTokenRequests => Env.Identity.TokenRequests.Count(r =>
        r.Form.TryGetValue("scope", out var scope) && scope.Contains(FakeGraphServer.GraphResource, StringComparison.OrdinalIgnoreCase));

    public async ValueTask DisposeAsync()
    {
        await Env.DisposeAsync();
        await Graph.DisposeAsync();
    }
}
