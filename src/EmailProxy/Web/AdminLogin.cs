using System.Security.Claims;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Web;

/// <summary>
/// The admin login for people: <c>GET /login</c> shows a password form, <c>POST /login</c> checks the password as
/// HTTP Basic's is checked (<see cref="AdminAuthentication.CheckPasswordAsync"/>: slowed after failures, a wrong
/// one logged without it) and on a match gives the browser a session cookie and sends it back where it was going;
/// <c>POST /logout</c> removes the cookie. Both posts carry the anti-forgery token (<see cref="AntiforgeryCheck"/>),
/// so another site cannot log the operator in or out behind their back.
/// <para>
/// The cookie is ASP.NET Core's cookie authentication: an encrypted, signed ticket (HttpOnly, SameSite=Strict,
/// Secure when the request came over HTTPS), valid for <see cref="Lifetime"/> after the last request, and a
/// session cookie in the browser (closing the browser ends it). Its keys are the data protection keys held in
/// memory only (<see cref="WebEndpoints.AddServices"/>): a restart of the proxy logs everybody out.
/// </para>
/// </summary>
internal static partial class AdminLogin
{
    /// <summary>The authentication scheme the session cookie is read and written with.</summary>
    public const string Scheme = "EmailProxyAdmin";

    public const string CookieName = "emailproxy-admin";

    public const string LoginPath = "/login";

    public const string LogoutPath = "/logout";

    /// <summary>The form field and query parameter that name where to go after the login.</summary>
    public const string ReturnField = "return";

    public const string PasswordField = "password";

    /// <summary>How long a login lasts without a request (sliding: every request in the second half renews it).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>The longest return path taken; a longer one is dropped for <c>/</c>.</summary>
    private const int MaxReturnLength = 2048;

    /// <summary>Registers the session cookie's authentication scheme.</summary>
    public static void AddServices(IServiceCollection services) =>
        services.AddAuthentication(Scheme).AddCookie(Scheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            // The listener is plain HTTP on loopback by default: the cookie must travel there too, and is Secure over HTTPS.
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Cookie.Path = "/";
            options.ExpireTimeSpan = Lifetime;
            options.SlidingExpiration = true;
        });

    public static void Map(WebApplication app)
    {
        app.MapGet(LoginPath, (HttpContext context, LiveConfig live) =>
        {
            if (live.Current.General.AdminPassword is null)
            {
                return NoAdminPassword();
            }
            var returnPath = LocalReturnPath(context.Request.Query[ReturnField]);
            return IsLoggedIn(context) ? LoggedInPage(context, returnPath) : LoginPage(context, StatusCodes.Status200OK, returnPath, null);
        });
        app.MapPost(LoginPath, LogInAsync).AddEndpointFilter<AntiforgeryCheck>();
        app.MapPost(LogoutPath, async (HttpContext context, ILogger<AdminAuthentication> log) =>
        {
            if (IsLoggedIn(context))
            {
                await context.SignOutAsync(Scheme);
                LogLoggedOut(log, context.Connection.RemoteIpAddress);
            }
            return HtmlPage.SeeOther(context, LoginPath);
        }).AddEndpointFilter<AntiforgeryCheck>();
    }

    /// <summary>
    /// The page header's "Log out" button (a form that posts to <see cref="LogoutPath"/> with the anti-forgery token)
    /// when the request comes with a valid login cookie; empty otherwise (no admin_password, or HTTP Basic).
    /// </summary>
    public static string LogoutForm(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!IsLoggedIn(context))
        {
            return "";
        }
        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        return $"<form method=\"post\" action=\"{LogoutPath}\" class=\"logout\">{AntiforgeryCheck.HiddenField(antiforgery, context)}<button type=\"submit\">Log out</button></form>";
    }

    /// <summary>
    /// Whether the request came with a valid login cookie (<see cref="AdminAuthentication"/> has read it) made with the
    /// admin_password in effect now: a reload that changes the password ends every login made with the old one.
    /// </summary>
    public static bool IsLoggedIn(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.User.Identity is { IsAuthenticated: true, AuthenticationType: Scheme }
            && context.RequestServices.GetRequiredService<LiveConfig>().Current.General.AdminPassword is { } hash
            && context.User.FindFirst(PasswordClaim)?.Value == PasswordMark(hash);
    }

    /// <summary>The logged-in admin, bound to the admin_password value <paramref name="hash"/> it logged in with.</summary>
    internal static ClaimsPrincipal PrincipalFor(string hash) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.NameIdentifier, "admin"), new Claim(PasswordClaim, PasswordMark(hash))], Scheme));

    /// <summary>The claim that binds a login cookie to the admin_password it was made with.</summary>
    private const string PasswordClaim = "emailproxy:admin-password";

    /// <summary>
    /// What the cookie carries of the admin_password value it was made with: a digest of the hash, never the hash
    /// (the cookie is encrypted too, with keys held in memory).
    /// </summary>
    private static string PasswordMark(string hash) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(hash)), 0, 16);

    /// <summary>Whether the path is the login form's or the logout's: open without the password.</summary>
    public static bool IsLoginPath(PathString path) =>
        path.Equals(LoginPath, StringComparison.Ordinal) || path.Equals(LogoutPath, StringComparison.Ordinal);

    /// <summary>The login form's address that comes back to <paramref name="pathAndQuery"/> afterwards.</summary>
    public static string LoginPathFor(string pathAndQuery) =>
        pathAndQuery == "/" ? LoginPath : $"{LoginPath}?{ReturnField}={Uri.EscapeDataString(pathAndQuery)}";

    /// <summary>
    /// Where to go after the login: <paramref name="value"/> when it is a path on this listener (one <c>/</c>, then
    /// no second <c>/</c> or <c>\</c>, which browsers take as the start of another host's address, and only printable
    /// ASCII: browsers drop tabs and line breaks before reading an address, and a header holds nothing else), else <c>/</c>. Anything else would make the login
    /// form an open redirect: a link to it could send the operator, freshly logged in, to another site.
    /// </summary>
    public static string LocalReturnPath(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxReturnLength || value[0] != '/')
        {
            return "/";
        }
        if (value.Length > 1 && value[1] is '/' or '\\')
        {
            return "/";
        }
        return value.Any(c => c is <= ' ' or > '~') ? "/" : value;
    }

    private static async Task<IResult> LogInAsync(HttpContext context, LiveConfig live, AdminAuthentication authentication, ILogger<AdminAuthentication> log)
    {
        if (live.Current.General.AdminPassword is not { } hash)
        {
            return NoAdminPassword();
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnPath = LocalReturnPath(form[ReturnField]);
        var check = await authentication.CheckPasswordAsync(context, form[PasswordField].ToString());
        switch (check)
        {
            case PasswordCheck.Match:
                await context.SignInAsync(Scheme, PrincipalFor(hash), new AuthenticationProperties { IsPersistent = false });
                // The anti-forgery tokens are bound to the user: the page after this one makes new ones for it.
                LogLoggedIn(log, context.Connection.RemoteIpAddress);
                return HtmlPage.SeeOther(context, returnPath);
            case PasswordCheck.TooManyFailures:
                context.Response.Headers.RetryAfter = "60";
                return LoginPage(context, StatusCodes.Status429TooManyRequests, returnPath, AdminAuthentication.TooManyFailuresText);
            case PasswordCheck.Busy:
                context.Response.Headers.RetryAfter = "5";
                return LoginPage(context, StatusCodes.Status503ServiceUnavailable, returnPath, AdminAuthentication.BusyText);
            default:
                return LoginPage(context, StatusCodes.Status401Unauthorized, returnPath, "Wrong password");
        }
    }

    /// <summary>The form; <paramref name="alert"/> (a refusal) is announced to screen readers first.</summary>
    private static IResult LoginPage(HttpContext context, int status, string returnPath, string? alert)
    {
        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        var alertHtml = alert is null ? "" : $"<p role=\"alert\" class=\"error\">{HtmlPage.Encode(alert)}</p>";
        return HtmlPage.Content(status, "Log in",
            alertHtml
            + "<p>This proxy's page needs its admin password (the one hashed into <code>[general] admin_password</code>).</p>"
            + $"<form method=\"post\" action=\"{LoginPath}\" class=\"login\">"
            + AntiforgeryCheck.HiddenField(antiforgery, context)
            + $"<input type=\"hidden\" name=\"{ReturnField}\" value=\"{HtmlPage.Encode(returnPath)}\">"
            + $"<p><label for=\"admin-password\">Admin password</label> <input id=\"admin-password\" type=\"password\" name=\"{PasswordField}\" autocomplete=\"current-password\" required autofocus></p>"
            + "<p><button type=\"submit\">Log in</button></p></form>");
    }

    /// <summary>The login form's address while logged in: where to go on, and the Log out button.</summary>
    private static IResult LoggedInPage(HttpContext context, string returnPath)
    {
        return HtmlPage.Content(StatusCodes.Status200OK, "Logged in",
            $"<p>This browser is logged in to the proxy's page.</p><p><a href=\"{HtmlPage.Encode(returnPath)}\">Go on</a></p>{LogoutForm(context)}");
    }

    private static IResult NoAdminPassword() => HtmlPage.Message(StatusCodes.Status404NotFound, "No login here",
        "This proxy has no admin_password, so its page asks for none (it is then reachable from this machine only).");


    [LoggerMessage(EventId = 6010, EventName = "AdminLoggedIn", Level = LogLevel.Information,
        Message = "The admin logged in from {ClientAddress}")]
    private static partial void LogLoggedIn(ILogger logger, System.Net.IPAddress? clientAddress);

    [LoggerMessage(EventId = 6011, EventName = "AdminLoggedOut", Level = LogLevel.Information,
        Message = "The admin logged out from {ClientAddress}")]
    private static partial void LogLoggedOut(ILogger logger, System.Net.IPAddress? clientAddress);
}
