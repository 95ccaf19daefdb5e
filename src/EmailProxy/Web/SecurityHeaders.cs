using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The headers every answer of the HTTP listener carries, set before anything else runs so that refusals
/// (421, 401) carry them too: no framing (<c>X-Frame-Options</c>, <c>frame-ancestors</c>), no script, style
/// or image but the listener's own files and no inline script (<c>Content-Security-Policy</c>), no Referer
/// (the redirect's address holds the sign-in's code), and no content sniffing. <c>form-action</c> is left
/// out on purpose: a sign-in form's answer redirects to the provider, which that directive would block.
/// Nothing but the static files may be cached (<c>Cache-Control: no-cache, no-store</c>): the pages hold the
/// accounts' state and anti-forgery tokens. Set first, so that ASP.NET's anti-forgery, which needs exactly
/// that, does not log a warning at every page with a form that it had to override the headers.
/// </summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XContentTypeOptions = "nosniff";
        if (!context.Request.Path.StartsWithSegments(AdminAuthentication.StaticPath, StringComparison.Ordinal))
        {
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
        }
        return next(context);
    }
}
