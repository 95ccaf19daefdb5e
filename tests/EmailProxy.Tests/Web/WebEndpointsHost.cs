using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Web;

/// <summary>
/// <see cref="WebEndpoints.Map"/> on a real Kestrel listener on 127.0.0.1 (port 0), with the sign-in and token
/// services it needs from an <see cref="OAuth2Fixture"/> (stub token endpoint, token folder of its own); a client that does not follow redirects.
/// Every log entry, the sign-in manager's too, goes to <see cref="Log"/>.
/// </summary>
internal sealed class WebEndpointsHost : IAsyncDisposable
{
    private readonly OAuth2Fixture _oauth = new();
    private readonly WebApplication _app;
    private readonly TestMeterFactory _meters = new();

    private WebEndpointsHost(GeneralOptions? general, IEnumerable<AccountOptions> accounts)
    {
        Tokens = _oauth.NewService();
        Config = _oauth.ConfigWith(accounts);
        if (general is not null)
        {
            Config = Config with { General = general };
        }
        SignIns = new SignInManager(Config, _oauth.Client, Tokens, _oauth.Time, Log.CreateLogger<SignInManager>());

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Log);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(Tokens);
        builder.Services.AddSingleton(SignIns);
        builder.Services.AddSingleton(Config);
        builder.Services.AddSingleton(new LiveConfig(Config));
        builder.Services.AddSingleton<PasswordVerifier>();
        builder.Services.AddSingleton(Throttle);
        Failures = new FailedLoginLog(_oauth.Time, Log.CreateLogger<FailedLoginLog>());
        builder.Services.AddSingleton(Failures);
        WebEndpoints.AddServices(builder.Services);
        builder.Services.AddSingleton(ControlToken);
        builder.Services.AddSingleton(new ControlSignIns(_oauth.Time));
        builder.Services.AddSingleton<TimeProvider>(_oauth.Time);
        Metrics = new ProxyMetrics(_meters);
        builder.Services.AddSingleton(Metrics);
        builder.Services.AddSingleton<PrometheusExport>();
        _app = builder.Build();
        WebEndpoints.Map(_app, _app.Services.GetRequiredService<LiveConfig>());
        Activity = _app.Services.GetRequiredService<AccountActivity>();
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
    }

    public ProxyConfig Config { get; }

    /// <summary>The mail-login activity the status page shows (the host's own; nothing records into it unless a test does).</summary>
    public AccountActivity Activity { get; }

    /// <summary>The metrics /metrics serves (a meter of this host's own).</summary>
    public ProxyMetrics Metrics { get; }

    /// <summary>The control endpoints' bearer token (not written to a file here).</summary>
    public ControlToken ControlToken { get; } = new(Path.Combine(Path.GetTempPath(), "unused-control.token"), "test-control-token-Qx9");

    /// <summary>The fixture's fake clock (sign-ins expire by it).</summary>
    public Microsoft.Extensions.Time.Testing.FakeTimeProvider Time => _oauth.Time;

    /// <summary>The fixture's stub token endpoint.</summary>
    public StubTokenEndpoint Endpoint => _oauth.Endpoint;

    public TokenService Tokens { get; }

    public SignInManager SignIns { get; }

    public RecordingLoggerProvider Log { get; } = new();

    /// <summary>The throttle a wrong admin password is counted in (real time: a wrong password is answered after half a second).</summary>
    public LoginThrottle Throttle { get; } = new(TimeProvider.System);

    /// <summary>The per-address limiter of log lines (the fixture's fake clock): wrong admin passwords and unknown sign-in states count in it.</summary>
    public FailedLoginLog Failures { get; }

    /// <summary>A client of the listener (base address set once started); redirects are not followed.</summary>
    public HttpClient Http { get; }

    public static Task<WebEndpointsHost> StartAsync(params AccountOptions[] accounts) => StartAsync(null, accounts);

    /// <summary>Starts the endpoints with these <c>[general]</c> options (the defaults when null) and accounts.</summary>
    public static async Task<WebEndpointsHost> StartAsync(GeneralOptions? general, params AccountOptions[] accounts)
    {
        var host = new WebEndpointsHost(general, accounts);
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
        Failures.Dispose();
        _oauth.Dispose();
        _meters.Dispose();
    }
}
