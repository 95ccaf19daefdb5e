using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.Web;

/// <summary>
/// The HTTP side on <c>web_listen</c> (by default redirect_uri's host:port, see <see cref="WebListenAddress"/>):
/// the OAuth2 redirect, the status page (<see cref="StatusPage"/>, its data also as <c>/status.json</c>) and its
/// POST actions (<see cref="StatusActions"/>), the sign-in pages the mail clients' texts link to, <c>/ca.pem</c>,
/// <c>/metrics</c>, <c>/healthz</c> and the command line's control endpoints; only for its own Host names
/// (<see cref="HostHeaderCheck"/>), and all but the redirect and /healthz behind <c>admin_password</c>
/// when it is set (<see cref="AdminAuthentication"/>).
/// </summary>
internal static class WebEndpoints
{
    /// <summary>
    /// The services the HTTP side needs, for the proxy and for the tests' hosts alike. The anti-forgery
    /// tokens are protected with keys held in memory only (nothing written to disk, no home folder
    /// needed in a container): a restart makes open forms expire, and the operator reloads the page.
    /// </summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<AdminAuthentication>();
        services.AddSingleton<HostHeaderCheck>();
        services.AddSingleton<ReadinessEndpoint>();
        AdminLogin.AddServices(services);
        services.Configure<FormOptions>(ListenerLimits.Forms);
        services.AddSingleton<AccountActivity>();
        services.AddSingleton<StatusReader>();
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAntiforgery(options =>
        {
            options.FormFieldName = AntiforgeryCheck.FormFieldName;
            options.Cookie.Name = AntiforgeryCheck.CookieName;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            // The listener is plain HTTP on loopback by default: the cookie must travel there too.
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.SuppressXFrameOptionsHeader = true;
        });
        // AddDataProtection (AddAntiforgery calls it too) registers a hosted service that warms up the default key ring
        // at start: it makes a key under $HOME/.aspnet (warning that it is stored unencrypted) although the ephemeral
        // provider never uses it. Removed last, so that nothing is written outside the proxy's own folders (a container's
        // home is not a volume; under systemd only the state folder is writable). Found by name: the type is internal.
        var warmUp = services.FirstOrDefault(service => service.ServiceType == typeof(IHostedService)
            && service.ImplementationType?.Name == "DataProtectionHostedService");
        if (warmUp is not null)
        {
            services.Remove(warmUp);
        }
    }

    public static void Map(WebApplication app, LiveConfig config)
    {
        app.Use(SecurityHeaders.InvokeAsync);
        app.Use(app.Services.GetRequiredService<HostHeaderCheck>().InvokeAsync);
        app.Use(app.Services.GetRequiredService<AdminAuthentication>().InvokeAsync);
        // Made now, at the start: the page's uptime counts from here.
        _ = app.Services.GetRequiredService<StatusReader>();
        ControlEndpoints.Map(app, config);
        var redirectPath = config.Current.General.RedirectUri.AbsolutePath;
        app.MapGet(AdminAuthentication.HealthPath, () => Results.Text("ok\n"));
        MetricsEndpoint.Map(app);
        ReadinessEndpoint.Map(app);
        AdminLogin.Map(app);
        StaticAssets.Map(app);
        StatusActions.Map(app, config);
        // What the mail clients' texts link to: a page with the button, never a sign-in started by a GET.
        app.MapGet("/accounts/{name}/signin", (HttpContext context, StatusReader status, IAntiforgery antiforgery, CancellationToken cancellationToken) =>
            SignInPageAsync(context, config, status, antiforgery, cancellationToken));
        app.MapGet("/status.json", async (StatusReader status, CancellationToken cancellationToken) =>
            Results.Json(await status.ReadAsync(cancellationToken), StatusJsonContext.Default.StatusModel));
        app.MapGet("/ca.pem", (StatusReader status) => status.CaPath() is { } path
            ? Results.File(path, "application/x-pem-file", "ca.pem")
            : Page(StatusCodes.Status404NotFound, "No local CA", "The proxy has not made a CA of its own: local TLS is off, or it uses the certificate pair the configuration names."));
        app.MapGet(redirectPath, async (HttpRequest request, SignInManager signIns, StatusReader status, IAntiforgery antiforgery, FailedLoginLog failures, CancellationToken cancellationToken) =>
        {
            var query = request.Query;
            if (query.ContainsKey("state") || query.ContainsKey("code") || query.ContainsKey("error"))
            {
                if (!config.Current.General.LocalServerAuth)
                {
                    // local_server_auth = false: only the pasted address completes a sign-in, never a request here.
                    var name = signIns.AccountOfState(query["state"])?.Name ?? "ACCOUNT";
                    return Page(StatusCodes.Status200OK, "Paste this address",
                        $"This proxy does not take sign-ins here (local_server_auth = false): copy this page's whole address from the address bar into the status page's \"Paste the address\" box of account {name}, or into `emailproxy auth {name}`.");
                }
                // Open without admin_password: an unknown state's warning is bounded per client address.
                var result = await signIns.CompleteAsync(query["state"], query["code"], query["error"], query["error_description"],
                    logUnknownInFull: () => failures.Admit(request.HttpContext.Connection.RemoteIpAddress));
                if (result.Password?.Take() is { } password)
                {
                    // An account made from a template, signed in for the first time: its password, this once (the page is never cached).
                    return HtmlPage.SignedInWithPassword(result.Message, result.Account?.Name, password);
                }
                return Page(result.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
                    result.Succeeded ? "Signed in" : "Sign-in failed", result.Message);
            }
            return redirectPath == "/" ? await StatusAsync(request.HttpContext, status, antiforgery, cancellationToken) : Results.NotFound();
        });
        if (redirectPath != "/")
        {
            app.MapGet("/", (HttpContext context, StatusReader status, IAntiforgery antiforgery, CancellationToken cancellationToken) =>
                StatusAsync(context, status, antiforgery, cancellationToken));
        }
    }

    /// <summary>
    /// The account name of <c>/accounts/{name}/signin</c> and the status page's other actions (<c>/accounts/{name}/device</c>…;
    /// also of the control endpoints' <c>/api/accounts/{name}/…</c>), decoded once from the request target as the
    /// client sent it (<see cref="SignInManager.SignInPageFor"/> escapes it with <see cref="Uri.EscapeDataString"/>).
    /// The route value is not used: Kestrel decodes the path except <c>%2F</c>, so a name holding <c>/</c>
    /// would arrive still escaped and a name holding a literal <c>%2F</c> would look the same.
    /// </summary>
    internal static string? AccountNameOf(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = target.IndexOfAny(['?', '#']);
        var path = (query < 0 ? target : target[..query]).TrimEnd('/');
        // The segment before the final one ("signin", "device"…). A target with dot segments gives the segment the router
        // matched after resolving them, or a name no account has (then 404): never another account.
        var end = path.LastIndexOf('/');
        var start = end <= 0 ? -1 : path.LastIndexOf('/', end - 1);
        if (start < 0)
        {
            return null;
        }
        // A sequence that does not decode stays as it was, as the client sent it.
        return Uri.UnescapeDataString(path[(start + 1)..end]);
    }

    /// <summary>The status page (<see cref="StatusPage"/>) of this moment, its forms carrying the anti-forgery field.</summary>
    private static async Task<IResult> StatusAsync(HttpContext context, StatusReader status, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        var model = await status.ReadAsync(cancellationToken);
        // Never kept by a browser or proxy cache (SecurityHeaders: no-cache, no-store): it shows what is true now, and its forms' tokens.
        return StatusPage.Render(model, AntiforgeryCheck.HiddenField(antiforgery, context), context);
    }

    /// <summary>
    /// <c>GET /accounts/{name}/signin</c>: the account's page with its sign-in button; an unknown account,
    /// or one that no person signs in (app-only, no authorize_url and no device code), gets a 404 page.
    /// </summary>
    private static async Task<IResult> SignInPageAsync(HttpContext context, LiveConfig config, StatusReader status, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (StatusActions.Find(context, config) is not { } account)
        {
            return StatusActions.UnknownAccount(context);
        }
        var shown = await status.ReadAsync(account, cancellationToken);
        if (!shown.CanSignIn && !shown.CanShowDeviceCode)
        {
            return StatusActions.NoBrowserSignIn(account);
        }
        return StatusPage.SignIn(shown, AntiforgeryCheck.HiddenField(antiforgery, context));
    }

    private static IResult Page(int status, string title, string message) => HtmlPage.Message(status, title, message);
}
