using System.Net.Http.Headers;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Web;

/// <summary>
/// <c>[general] admin_password</c> in front of the HTTP listener. A person logs in once on the form of
/// <see cref="AdminLogin"/> and is then recognised by its session cookie; a script or a scraper may instead
/// send the password with HTTP Basic (any user name, e.g. <c>curl -u :PASSWORD</c>), and <c>/metrics</c>
/// also opens to <c>[general] metrics_token</c> as a bearer token (<see cref="MetricsEndpoint"/>). Every
/// password is checked against the hash with <see cref="PasswordVerifier"/>, in the client address's turn of
/// the mail logins' <see cref="LoginThrottle"/>, and a wrong one is logged at a bounded rate, never its value.
/// <para>
/// Without any of these a browser's page request (a GET that accepts <c>text/html</c>) is sent to the login
/// form, and everything else (a POST, <c>/status.json</c>, <c>/metrics</c>, curl) gets 401. No 401 carries a
/// <c>WWW-Authenticate: Basic</c> challenge: it would make a browser ask for the password itself and then
/// send it, cached, with every request until it is closed, with no way to log out.
/// </para>
/// <para>
/// Open without the password: <c>/healthz</c> and <c>/readyz</c> (a container's health check), <c>/static/</c>
/// (the stylesheet and script, so that the login form is styled), the login form itself, the provider's
/// return to the redirect path (a request with <c>code</c>, <c>state</c> or <c>error</c>), which the browser
/// makes without the proxy's password and which the sign-in's random state and PKCE verifier protect, and the
/// control endpoints under <c>/api</c>, which answer only loopback connections with control.token's bearer token
/// (<see cref="ControlEndpoints"/>: they run right after this and refuse everything else). Without admin_password
/// (allowed only while the listener is on loopback, <see cref="GeneralSectionReader"/>) nothing is asked.
/// </para>
/// </summary>
internal sealed partial class AdminAuthentication(LiveConfig live, PasswordVerifier verifier, LoginThrottle throttle, FailedLoginLog failures, ILogger<AdminAuthentication> log)
{
    /// <summary>The realm of the bearer challenge for <c>/metrics</c>.</summary>
    public const string Realm = "Email OAuth2 Proxy";

    public const string HealthPath = "/healthz";

    /// <summary>The readiness check: open like <see cref="HealthPath"/>, so that a container's health check needs no password.</summary>
    public const string ReadyPath = ReadinessEndpoint.Path;

    /// <summary>The listener's own files (stylesheet, script): nothing secret, and the login form needs them.</summary>
    public const string StaticPath = "/static";

    /// <summary>
    /// The name the admin password's verified digest is remembered under in <see cref="PasswordVerifier"/>:
    /// empty, which no account can be called (a section <c>[account ]</c> has no name).
    /// </summary>
    private const string VerifierKey = "";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (live.Current.General.AdminPassword is null)
        {
            await next(context);
            return;
        }
        var request = context.Request;
        // The session cookie is read on every request, open ones included, so that the login form and the
        // anti-forgery tokens of every page see the same user (the tokens are bound to it).
        if (request.Cookies.ContainsKey(AdminLogin.CookieName)
            && await context.AuthenticateAsync(AdminLogin.Scheme) is { Succeeded: true } session)
        {
            context.User = session.Principal;
        }
        if (IsOpen(request) || AdminLogin.IsLoggedIn(context) || MetricsEndpoint.HasToken(request, live.Current.General))
        {
            await next(context);
            return;
        }
        if (MetricsEndpoint.HasBearer(request))
        {
            await RefuseMetricsTokenAsync(context);
            return;
        }
        if (BasicPassword(request) is not { } password)
        {
            await AskToLogInAsync(context);
            return;
        }
        var check = await CheckPasswordAsync(context, password);
        if (check == PasswordCheck.Match)
        {
            await next(context);
            return;
        }
        context.Response.Headers.CacheControl = "no-store";
        switch (check)
        {
            case PasswordCheck.TooManyFailures:
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = "60";
                await context.Response.WriteAsync(TooManyFailuresText + "\n", context.RequestAborted);
                break;
            case PasswordCheck.Busy:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                await context.Response.WriteAsync(BusyText + "\n", context.RequestAborted);
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsync("Wrong admin_password.\n", context.RequestAborted);
                break;
        }
    }

    /// <summary>What the 429 says: the client address's turn is too far off after its wrong passwords.</summary>
    public const string TooManyFailuresText = "Too many wrong passwords from this address: try again in a minute.";

    /// <summary>What the 503 says: every password-check slot is taken.</summary>
    public const string BusyText = "The proxy is busy checking other passwords: try again in a moment.";

    /// <summary>
    /// Checks <paramref name="password"/> against admin_password as every way in does (HTTP Basic and the login
    /// form): in the mail logins' derivation pool, after the client address's turn (after recent failures, one
    /// check per growing delay), a mismatch counted against the address and logged at a bounded rate per
    /// address with the path only, never the password nor a user name typed with it.
    /// </summary>
    public async Task<PasswordCheck> CheckPasswordAsync(HttpContext context, string password)
    {
        ArgumentNullException.ThrowIfNull(context);
        var hash = live.Current.General.AdminPassword ?? throw new InvalidOperationException("admin_password is not set.");
        var address = context.Connection.RemoteIpAddress;
        var check = await verifier.VerifyAsync(VerifierKey, hash, password, address, context.RequestAborted, ct => throttle.WaitTurnAsync(null, address, ct),
            result =>
            {
                if (result == PasswordCheck.Mismatch)
                {
                    throttle.RecordFailure(null, address);
                }
            });
        // Counted with the mail fronts' failed logins.
        if (check == PasswordCheck.Mismatch && failures.Admit(address))
        {
            LogAdminPasswordWrong(log, address?.ToString() ?? "?", ClientText.Sanitize(context.Request.Path.Value));
        }
        return check;
    }

    /// <summary>
    /// No credentials: a browser's page request goes to the login form (303, to come back here after it); anything
    /// else gets 401 (no Basic challenge, see the class), in HTML for a browser, in one line for a script.
    /// </summary>
    private static async Task AskToLogInAsync(HttpContext context)
    {
        var request = context.Request;
        context.Response.Headers.CacheControl = "no-store";
        var browser = AcceptsHtml(request);
        if (browser && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            // The target as the browser sent it (still escaped as it was: an account name may hold an escaped "/").
            var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.GetEncodedPathAndQuery();
            context.Response.Headers.Location = AdminLogin.LoginPathFor(AdminLogin.LocalReturnPath(target));
            return;
        }
        if (browser)
        {
            await HtmlPage.Content(StatusCodes.Status401Unauthorized, "Log in first",
                    $"<p>This needs the proxy's admin password, and this browser is not logged in (or its login has expired, or the proxy restarted). Nothing was changed.</p><p><a href=\"{HtmlPage.Encode(AdminLogin.LoginPath)}\">Log in</a></p>")
                .ExecuteAsync(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        await context.Response.WriteAsync(
            "The proxy's admin_password is needed: log in at /login in a browser, or send it with HTTP Basic (any user name, e.g. curl -u :PASSWORD).\n",
            context.RequestAborted);
    }

    /// <summary>Whether the client takes HTML: a browser's page request or form post says so in its Accept header; curl, a scraper and fetch() for JSON do not.</summary>
    internal static bool AcceptsHtml(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    /// <summary>A scraper's wrong (or unset) <c>metrics_token</c>: 401, logged at a bounded rate per address, never the token.</summary>
    private async Task RefuseMetricsTokenAsync(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        throttle.RecordFailure(null, address);
        if (failures.Admit(address))
        {
            LogMetricsTokenWrong(log, address?.ToString() ?? "?", live.Current.General.MetricsToken is not null);
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{Realm}\"";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync("Wrong bearer token for /metrics: send [general] metrics_token, or the admin_password.\n", context.RequestAborted);
    }

    private bool IsOpen(HttpRequest request)
    {
        var path = request.Path;
        // The control endpoints authorise themselves, more strictly: loopback and control.token's bearer token (ControlEndpoints).
        if (path.Equals(HealthPath, StringComparison.Ordinal) || path.Equals(ReadyPath, StringComparison.Ordinal)
            || path.StartsWithSegments(StaticPath, StringComparison.Ordinal) || AdminLogin.IsLoginPath(path)
            || ControlEndpoints.IsControlPath(path))
        {
            return true;
        }
        var query = request.Query;
        return path.Equals(live.Current.General.RedirectUri.AbsolutePath, StringComparison.Ordinal)
            && (query.ContainsKey("code") || query.ContainsKey("state") || query.ContainsKey("error"));
    }

    /// <summary>The password of an <c>Authorization: Basic</c> header (RFC 7617, UTF-8), or null when there is none that decodes.</summary>
    private static string? BasicPassword(HttpRequest request)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
            || !header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)
            || header.Parameter is not { } encoded)
        {
            return null;
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(bytes);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : text[(colon + 1)..];
    }

    [LoggerMessage(EventId = 6001, EventName = "AdminPasswordWrong", Level = LogLevel.Warning,
        Message = "A wrong admin_password from {ClientAddress} for {Path}")]
    private static partial void LogAdminPasswordWrong(ILogger logger, string clientAddress, string path);

    [LoggerMessage(EventId = 6002, EventName = "MetricsTokenWrong", Level = LogLevel.Warning,
        Message = "A wrong bearer token for /metrics from {ClientAddress} (metrics_token set: {TokenSet})")]
    private static partial void LogMetricsTokenWrong(ILogger logger, string clientAddress, bool tokenSet);
}
