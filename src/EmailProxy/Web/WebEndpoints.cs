using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.Web;

/// <summary>
/// The HTTP side on <c>web_listen</c> (by default redirect_uri's host:port, see <see cref="WebListenAddress"/>):
/// the OAuth2 redirect, sign-in links, a status page, <c>/healthz</c>; only for its own Host names
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
    }

    public static void Map(WebApplication app, ProxyConfig config)
    {
        app.Use(SecurityHeaders.InvokeAsync);
        app.Use(app.Services.GetRequiredService<HostHeaderCheck>().InvokeAsync);
        app.Use(app.Services.GetRequiredService<AdminAuthentication>().InvokeAsync);
        ControlEndpoints.Map(app, config);
        var redirectPath = config.General.RedirectUri.AbsolutePath;
        app.MapGet(AdminAuthentication.HealthPath, () => Results.Text("ok\n"));
        MetricsEndpoint.Map(app);
        ReadinessEndpoint.Map(app);
        AdminLogin.Map(app);
        app.MapGet("/accounts/{name}/signin", (HttpContext context, SignInManager signIns) =>
        {
            var name = AccountNameOf(context);
            var account = name is null ? null : config.FindAccount(name);
            return account is null
                ? Page(StatusCodes.Status404NotFound, "Unknown account", $"There is no [account {ClientText.Sanitize(name)}] section in the proxy's configuration.")
                : account.AuthorizeUrl is null
                    ? Page(StatusCodes.Status404NotFound, "No browser sign-in", $"Account {account.Name} has no authorize_url: it does not sign in in a browser.")
                    : Results.Redirect(signIns.StartOrJoin(account, SignInMethod.Browser).AuthorizeUrl!.AbsoluteUri);
        });
        app.MapGet(redirectPath, async (HttpRequest request, SignInManager signIns, TokenService tokens, FailedLoginLog failures, CancellationToken cancellationToken) =>
        {
            var query = request.Query;
            if (query.ContainsKey("state") || query.ContainsKey("code") || query.ContainsKey("error"))
            {
                if (!config.General.LocalServerAuth)
                {
                    // local_server_auth = false: only the pasted address completes a sign-in, never a request here.
                    var name = signIns.AccountOfState(query["state"])?.Name ?? "ACCOUNT";
                    return Page(StatusCodes.Status200OK, "Paste this address",
                        $"This proxy does not take sign-ins here (local_server_auth = false): copy this page's whole address from the address bar into `emailproxy auth {name}`.");
                }
                // Open without admin_password: an unknown state's warning is bounded per client address.
                var result = await signIns.CompleteAsync(query["state"], query["code"], query["error"], query["error_description"],
                    logUnknownInFull: () => failures.Admit(request.HttpContext.Connection.RemoteIpAddress));
                return Page(result.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
                    result.Succeeded ? "Signed in" : "Sign-in failed", result.Message);
            }
            return redirectPath == "/" ? await StatusAsync(config, tokens, cancellationToken) : Results.NotFound();
        });
        if (redirectPath != "/")
        {
            app.MapGet("/", (TokenService tokens, CancellationToken cancellationToken) => StatusAsync(config, tokens, cancellationToken));
        }
    }

    /// <summary>
    /// The account name of <c>/accounts/{name}/signin</c> (and of the control endpoints' <c>/api/accounts/{name}/…</c>), decoded once from the request target as the
    /// client sent it (<see cref="SignInManager.SignInPageFor"/> escapes it with <see cref="Uri.EscapeDataString"/>).
    /// The route value is not used: Kestrel decodes the path except <c>%2F</c>, so a name holding <c>/</c>
    /// would arrive still escaped and a name holding a literal <c>%2F</c> would look the same.
    /// </summary>
    internal static string? AccountNameOf(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = target.IndexOfAny(['?', '#']);
        var path = (query < 0 ? target : target[..query]).TrimEnd('/');
        // The segment before the final "signin". A target with dot segments gives the segment the router
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

    /// <summary>
    /// The status page: one row per account with its state and what its link does. An app-only account
    /// (client credentials) has no person to sign in: its state is its app token's, and it has no link. A
    /// device-code account's link is a browser sign-in in place of the code, and says so; an account
    /// without an authorize URL cannot sign in in a browser, so its row names the command instead.
    /// </summary>
    private static async Task<IResult> StatusAsync(ProxyConfig config, TokenService tokens, CancellationToken cancellationToken)
    {
        var html = new StringBuilder();
        html.Append("<table><tr><th>Account</th><th>Mailbox</th><th>State</th><th></th></tr>");
        foreach (var account in config.Accounts.Values.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase))
        {
            var (signedIn, expiresAt, problem) = await tokens.DescribeAsync(account, cancellationToken);
            var state = account.Flow == OAuthFlow.ClientCredentials
                ? expiresAt is { } appExpiry
                    ? $"app-only (client credentials): access token expires {appExpiry:u}; the proxy fetches a new one itself"
                    : "app-only (client credentials): a token is fetched at the first login"
                : signedIn
                    ? $"signed in{(expiresAt is { } e ? $"; access token valid until {e:u}" : "")}"
                    : problem is null ? "needs a sign-in" : $"needs a sign-in: {problem}";
            html.Append("<tr><td>").Append(Encode(account.Name)).Append("</td><td>").Append(Encode(account.Username))
                .Append("</td><td>").Append(Encode(state)).Append("</td><td>");
            // No person signs an app in: an app-only account gets no link.
            if (account.Flow == OAuthFlow.ClientCredentials)
            {
                html.Append("</td></tr>");
                continue;
            }
            if (account.AuthorizeUrl is null)
            {
                html.Append(Encode($"no browser sign-in: run emailproxy auth {account.Name}"));
            }
            else
            {
                var link = $"/accounts/{Uri.EscapeDataString(account.Name)}/signin";
                html.Append("<a href=\"").Append(Encode(link)).Append("\">")
                    .Append(account.Flow == OAuthFlow.DeviceCode ? "Sign in in this browser (instead of a device code)" : "Sign in")
                    .Append("</a>");
            }
            html.Append("</td></tr>");
        }
        html.Append("</table>");
        return HtmlPage.Content(StatusCodes.Status200OK, "Email OAuth2 Proxy", html.ToString());
    }

    private static IResult Page(int status, string title, string message) => HtmlPage.Message(status, title, message);

    private static string Encode(string text) => HtmlPage.Encode(text);
}
