using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The endpoint filter on every state-changing request of the listener (a POST from the status page's
/// forms): the request must carry the anti-forgery token of <see cref="IAntiforgery"/> (a hidden field
/// <see cref="FormFieldName"/> matching its cookie), so that a page on another site cannot make the
/// operator's browser start a sign-in or forget tokens. Anything else gets a 400 page and changes nothing.
/// </summary>
internal sealed class AntiforgeryCheck(IAntiforgery antiforgery) : IEndpointFilter
{
    /// <summary>The hidden form field that carries the request token.</summary>
    public const string FormFieldName = "__csrf";

    /// <summary>The cookie that carries the other half.</summary>
    public const string CookieName = "emailproxy-csrf";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (!await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return HtmlPage.Message(StatusCodes.Status400BadRequest, "Form expired",
                "This form did not come from the proxy's own page, or it has expired (the proxy restarted since it was loaded). Go back to the status page, reload it and press the button again.");
        }
        return await next(context);
    }

    /// <summary>The hidden field to put in every form that posts to the listener.</summary>
    public static string HiddenField(IAntiforgery antiforgery, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(antiforgery);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return $"<input type=\"hidden\" name=\"{HtmlPage.Encode(tokens.FormFieldName)}\" value=\"{HtmlPage.Encode(tokens.RequestToken)}\">";
    }
}
