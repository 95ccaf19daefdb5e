using System.Net.Http.Headers;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Web;

/// <summary>
/// <c>[general] admin_password</c> in front of the HTTP listener: HTTP Basic authentication, any
/// user name, the password checked against the hash with <see cref="PasswordVerifier"/>. Everything
/// needs it except <c>/healthz</c> and the provider's return to the redirect path (a request with
/// <c>code</c>, <c>state</c> or <c>error</c>), which the browser makes without the proxy's password
/// and which the sign-in's random state and PKCE verifier protect, and the control endpoints under
/// <c>/api</c>, which answer only loopback connections with control.token's bearer token
/// (<see cref="ControlEndpoints"/>: they run right after this and refuse everything else). Without admin_password (allowed
/// only while the listener is on loopback) nothing is asked. <c>/metrics</c> also opens to <c>[general] metrics_token</c>
/// as a bearer token (<see cref="MetricsEndpoint"/>); a wrong one is refused and logged, never the token.
/// Issue 13 replaces Basic authentication by a sign-in form and a session cookie.
/// </summary>
internal sealed partial class AdminAuthentication(ProxyConfig config, PasswordVerifier verifier, LoginThrottle throttle, FailedLoginLog failures, ILogger<AdminAuthentication> log)
{
    /// <summary>The realm the browser shows in its password prompt.</summary>
    public const string Realm = "Email OAuth2 Proxy";

    public const string HealthPath = "/healthz";

    /// <summary>
    /// The name the admin password's verified digest is remembered under in <see cref="PasswordVerifier"/>:
    /// empty, which no account can be called (a section <c>[account ]</c> has no name).
    /// </summary>
    private const string VerifierKey = "";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (config.General.AdminPassword is not { } hash || IsOpen(context.Request) || MetricsEndpoint.HasToken(context.Request, config.General))
        {
            await next(context);
            return;
        }
        if (MetricsEndpoint.HasBearer(context.Request))
        {
            await RefuseMetricsTokenAsync(context);
            return;
        }
        var password = BasicPassword(context.Request);
        var address = context.Connection.RemoteIpAddress;
        // Each check runs in the mail logins' derivation pool and waits the address's turn there, as
        // a mail login's does (after recent failures, one check per growing delay).
        var check = password is null ? PasswordCheck.Mismatch
            : await verifier.VerifyAsync(VerifierKey, hash, password, address, context.RequestAborted, ct => throttle.WaitTurnAsync(null, address, ct),
                result =>
                {
                    if (result == PasswordCheck.Mismatch)
                    {
                        throttle.RecordFailure(null, address);
                    }
                });
        if (check == PasswordCheck.TooManyFailures)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = "60";
            await context.Response.WriteAsync("Too many wrong passwords from this address: try again in a minute.\n", context.RequestAborted);
            return;
        }
        if (check == PasswordCheck.Match)
        {
            await next(context);
            return;
        }
        if (check == PasswordCheck.Busy)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            await context.Response.WriteAsync("The proxy is busy checking other passwords: try again in a moment.\n", context.RequestAborted);
            return;
        }
        if (password is not null)
        {
            // The address and the path only: never the password, nor the user name typed with it.
            // At a bounded rate per address, counted with the mail fronts' failed logins.
            if (failures.Admit(context.Connection.RemoteIpAddress))
            {
                LogAdminPasswordWrong(log, context.Connection.RemoteIpAddress?.ToString() ?? "?", ClientText.Sanitize(context.Request.Path.Value));
            }
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{Realm}\", charset=\"UTF-8\"";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync("The proxy's admin_password is needed (any user name).\n", context.RequestAborted);
    }

    /// <summary>A scraper's wrong (or unset) <c>metrics_token</c>: 401, logged at a bounded rate per address, never the token.</summary>
    private async Task RefuseMetricsTokenAsync(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        throttle.RecordFailure(null, address);
        if (failures.Admit(address))
        {
            LogMetricsTokenWrong(log, address?.ToString() ?? "?", config.General.MetricsToken is not null);
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{Realm}\"";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync("Wrong bearer token for /metrics: send [general] metrics_token, or the admin_password.\n", context.RequestAborted);
    }

    private bool IsOpen(HttpRequest request)
    {
        // The control endpoints authorise themselves, more strictly: loopback and control.token's bearer token (ControlEndpoints).
        if (request.Path.Equals(HealthPath, StringComparison.Ordinal) || ControlEndpoints.IsControlPath(request.Path))
        {
            return true;
        }
        var query = request.Query;
        return request.Path.Equals(config.General.RedirectUri.AbsolutePath, StringComparison.Ordinal)
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
