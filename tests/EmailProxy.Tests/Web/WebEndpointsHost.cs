using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using EmailProxy.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Web;

/// <summary>
/// <see cref="WebEndpoints.Map"/> on a real Kestrel listener on 127.0.0.1 (port 0), with the sign-in and token
/// services it needs over a stub token endpoint and a token folder of its own; a client that does not follow redirects.
/// </summary>
internal sealed class WebEndpointsHost : IAsyncDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _tokenHttp;
    private readonly WebApplication _app;

    private WebEndpointsHost(IEnumerable<AccountOptions> accounts)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        _tokenHttp = new HttpClient(_endpoint);
        var client = new OAuthClient(_tokenHttp, time);
        var store = new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance);
        Tokens = new TokenService(client, store, time, NullLogger<TokenService>.Instance);
        Config = new ProxyConfig(
            _temp.Combine("emailproxy.config"),
            new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase)
            {
                ["outlook.office365.com"] = new("outlook.office365.com") { ImapHost = "outlook.office365.com" },
            },
            accounts.ToDictionary(account => account.Name, StringComparer.OrdinalIgnoreCase));
        SignIns = new SignInManager(Config, client, Tokens, time, NullLogger<SignInManager>.Instance);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(Tokens);
        builder.Services.AddSingleton(SignIns);
        _app = builder.Build();
        WebEndpoints.Map(_app, Config);
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
    }

    public ProxyConfig Config { get; }

    public TokenService Tokens { get; }

    public SignInManager SignIns { get; }

    /// <summary>A client of the listener (base address set once started); redirects are not followed.</summary>
    public HttpClient Http { get; }

    public static async Task<WebEndpointsHost> StartAsync(params AccountOptions[] accounts)
    {
        var host = new WebEndpointsHost(accounts);
        await host._app.StartAsync().Guarded();
        var addresses = host._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        host.Http.BaseAddress = new Uri(addresses.Addresses.Single());
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _tokenHttp.Dispose();
        _endpoint.Dispose();
        _temp.Dispose();
    }
}
