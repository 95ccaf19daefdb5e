using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EmailProxy.Web;

/// <summary>
/// The endpoint filter in front of the status page's POST actions, before the anti-forgery check
/// reads the form: a body larger than <see cref="MaxBytes"/> is refused with a 413 page and nothing
/// is read further or changed. A declared length is checked first; a chunked body is cut by Kestrel
/// at the same size (the request's own limit, lowered here). A form the anti-forgery check cannot read
/// at all gets a 400 page, not a server error.
/// </summary>
internal sealed class FormSizeLimit : IEndpointFilter
{
    /// <summary>Enough for the anti-forgery token and a pasted address (a code and state of a few KiB), far below a flood.</summary>
    public const long MaxBytes = 32 * 1024;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (http.Request.ContentLength > MaxBytes)
        {
            return TooLarge();
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBytes;
        }
        try
        {
            return await next(context);
        }
        catch (Exception e) when (IsTooLarge(e))
        {
            return TooLarge();
        }
        catch (AntiforgeryValidationException)
        {
            // The anti-forgery check could not read the form at all (cut short, not a form): nothing was done.
            return HtmlPage.Message(StatusCodes.Status400BadRequest, "Form unreadable",
                "The proxy could not read this form, so nothing was changed. Go back to the status page, reload it and press the button again.");
        }
    }

    /// <summary>Kestrel's 413, as thrown by a form read or wrapped by the anti-forgery check that read it.</summary>
    private static bool IsTooLarge(Exception e) =>
        (e as BadHttpRequestException ?? e.InnerException as BadHttpRequestException)?.StatusCode == StatusCodes.Status413PayloadTooLarge;

    private static IResult TooLarge() =>
        HtmlPage.Message(StatusCodes.Status413PayloadTooLarge, "Too much sent",
            $"The form sent more than {MaxBytes / 1024} KiB, which no form of this page does: nothing was changed. Go back to the status page and try again.");
}
