using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// The introspection URL Dovecot is started with. Dovecot reads its oauth2 passdb file once, but every test makes its
/// own <see cref="FakeIdentityServer"/> (on its own port), so this relay on a fixed port passes each
/// <c>POST /introspect</c> on, byte for byte, to the identity server of the test that runs now.
/// </summary>
internal sealed class IntrospectionRelay : IAsyncDisposable
{
    private const string Inactive = """{"active":false}""";

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
    private WebApplication? _app;
    private FakeIdentityServer? _identity;
    private int _requests;
    private volatile bool _refuseAll;

    /// <summary>The port bound after <see cref="StartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>The URL Dovecot's <c>introspection_url</c> points at.</summary>
    public string Url => $"http://127.0.0.1:{Port}/introspect";

    /// <summary>Number of introspection requests Dovecot made.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>When true, every token is answered <c>{"active":false}</c>, as a provider does after revoking the grant.</summary>
    public bool RefuseAll
    {
        get => _refuseAll;
        set => _refuseAll = value;
    }

    /// <summary>Relays from now on to this identity server (null: every token is inactive).</summary>
    public void Use(FakeIdentityServer? identity) => Volatile.Write(ref _identity, identity);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/introspect", RelayAsync);
        await app.StartAsync();
        _app = app;

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel did not report its addresses.");
        Port = new Uri(addresses.Addresses.First()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }

        _http.Dispose();
    }

    private async Task RelayAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);

        var status = StatusCodes.Status200OK;
        var json = Inactive;
        var identity = Volatile.Read(ref _identity);
        if (!RefuseAll && identity is not null)
        {
            using var content = new ByteArrayContent(body.ToArray());
            if (context.Request.ContentType is { } contentType)
            {
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }

            using var response = await _http.PostAsync(new Uri(identity.IntrospectionUrl), content, context.RequestAborted);
            status = (int)response.StatusCode;
            json = await response.Content.ReadAsStringAsync(context.RequestAborted);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(json, Encoding.UTF8, context.RequestAborted);
    }
}
