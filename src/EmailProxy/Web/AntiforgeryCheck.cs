using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The endpoint filter on every state-changing request of the listener (a POST from the status page's
/// forms, the login and the logout): the request must carry the anti-forgery token of <see cref="IAntiforgery"/>
/// (a hidden field <see cref="FormFieldName"/> matching its cookie), so that a page on another site cannot make the
/// operator's browser start a sign-in, forget tokens or log in or out. Anything else gets a 400 page and changes
/// nothing. The form is read here, first: one too large for <see cref="ListenerLimits"/> gets a 413 page instead.
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
        bool valid;
        try
        {
            valid = await antiforgery.IsRequestValidAsync(context.HttpContext);
        }
        catch (AntiforgeryValidationException e) when (Unreadable(e.InnerException) is { } refusal)
        {
            // The form could not be read (the token is in it): a refusal of its size or its arrival, not a wrong token.
            return refusal;
        }
        catch (AntiforgeryValidationException)
        {
            valid = false;
        }
        catch (Exception e) when (Unreadable(e) is { } refusal)
        {
            return refusal;
        }
        if (!valid)
        {
            return HtmlPage.Message(StatusCodes.Status400BadRequest, "This form has expired",
                "The proxy did not recognise this form: it was loaded before the proxy restarted, or before you logged in or out, or it comes from another site. Nothing was changed. Go back to the page, reload it and press the button again.");
        }
        return await next(context);
    }

    /// <summary>
    /// The hidden field to put in every form that posts to the listener. The tokens are made once per request and
    /// reused by every form of the page: ASP.NET's anti-forgery, asked again in one response, turns its own
    /// <c>no-cache, no-store</c> into <c>no-cache</c> and then logs a warning at the third form that it had to
    /// override the cache headers (a warning at every view of the status page).
    /// </summary>
    public static string HiddenField(IAntiforgery antiforgery, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(antiforgery);
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items[TokensItem] is not AntiforgeryTokenSet tokens)
        {
            tokens = antiforgery.GetAndStoreTokens(context);
            context.Items[TokensItem] = tokens;
        }
        return $"<input type=\"hidden\" name=\"{HtmlPage.Encode(tokens.FormFieldName)}\" value=\"{HtmlPage.Encode(tokens.RequestToken)}\">";
    }

    /// <summary>The key of the request's tokens in <see cref="HttpContext.Items"/>.</summary>
    private static readonly object TokensItem = new();

    /// <summary>The page for a form that could not be read, or null when <paramref name="e"/> is not such a failure.</summary>
    private static IResult? Unreadable(Exception? e) => e switch
    {
        // Kestrel's refusal of the body while it is read: past MaxRequestBodySize (413), or cut short or too slow.
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(),
        BadHttpRequestException bad => HtmlPage.Message(bad.StatusCode, "Bad request",
            "The browser's request could not be read to its end. Nothing was changed. Go back to the page, reload it and try again."),
        // The form reader's limits (ListenerLimits.Forms): a field too long, or too many.
        InvalidDataException => TooLarge(),
        _ => null,
    };

    private static IResult TooLarge() => HtmlPage.Message(StatusCodes.Status413PayloadTooLarge, "Too large",
        $"The form sent was larger than the proxy takes ({ListenerLimits.MaxRequestBodyBytes / 1024} KiB). Nothing was changed.");
}
