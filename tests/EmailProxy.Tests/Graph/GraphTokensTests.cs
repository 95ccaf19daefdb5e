using EmailProxy.Graph;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Graph;

/// <summary><see cref="GraphTokens"/>: the Graph token redeemed from an account's sign-in goes when the account's tokens go.</summary>
public sealed class GraphTokensTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();

    public GraphTokensTests() =>
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"graph-{n}", "old-refresh");

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task GetAsync_AfterTheAccountsTokensWereCleared_NoGraphTokenButASignInNeeded()
    {
        await _fx.SeedAsync("mail", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        var graph = new GraphTokens(service, _fx.Time, NullLogger<GraphTokens>.Instance);
        Assert.Equal("graph-1", (await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);

        await service.ForgetAsync(_fx.Account, CancellationToken.None).Guarded();
        var after = await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded();

        Assert.Null(after.AccessToken);
        Assert.Contains("needs an OAuth2 sign-in", after.Failure, StringComparison.Ordinal);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAsync_AfterAReloadChangedTheOAuthSettings_NewGraphTokenRedeemed()
    {
        await _fx.SeedAsync("mail", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        var graph = new GraphTokens(service, _fx.Time, NullLogger<GraphTokens>.Instance);
        Assert.Equal("graph-1", (await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);

        await service.ForgetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();

        Assert.Equal("graph-2", (await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAsync_AnotherAccountsTokensCleared_GraphTokenKept()
    {
        await _fx.SeedAsync("mail", TimeSpan.FromHours(1));
        var service = _fx.NewService();
        var graph = new GraphTokens(service, _fx.Time, NullLogger<GraphTokens>.Instance);
        Assert.Equal("graph-1", (await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);

        await service.ForgetAsync(TestAccounts.Create("other@example.com"), CancellationToken.None).Guarded();

        Assert.Equal("graph-1", (await graph.GetAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }
}
