using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The frame of every HTML page the listener serves: one document shape, the one stylesheet
/// (<see cref="StylesheetPath"/>), no inline script or style (the Content-Security-Policy of
/// <see cref="SecurityHeaders"/> forbids both), every text HTML-encoded by the caller through <see cref="Encode"/>.
/// </summary>
internal static class HtmlPage
{
    /// <summary>The page's one stylesheet, served by the listener itself.</summary>
    public const string StylesheetPath = "/static/status.css";

    /// <summary>A whole page: <paramref name="bodyHtml"/> is already HTML (its texts encoded with <see cref="Encode"/>).</summary>
    public static IResult Content(int status, string title, string bodyHtml, string? headHtml = null) =>
        Results.Content(Document(title, bodyHtml, headHtml), "text/html; charset=utf-8", Encoding.UTF8, status);

    /// <summary>A page that says one thing in words for a person (an error, a result).</summary>
    public static IResult Message(int status, string title, string message) =>
        Content(status, title, $"<p>{Encode(message)}</p><p><a href=\"/\">Back to the status page</a></p>");

    /// <summary>
    /// The end of the first sign-in of an account made from a template: its generated password, this once (no page of
    /// the proxy is cached), with what to do if it is lost.
    /// </summary>
    public static IResult SignedInWithPassword(string message, string? accountName, string password) =>
        Content(StatusCodes.Status200OK, "Signed in",
            $"<p>{Encode(message)}</p><p>Password of {Encode(accountName)}: <code id=\"generated-password\">{Encode(password)}</code></p>"
            + "<p>Copy it now: it is not shown again. If it is lost, the proxy's administrator clears the account's tokens (emailproxy tokens clear) and the next sign-in makes a new one.</p>");

    public static string Document(string title, string bodyHtml, string? headHtml = null) =>
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + $"<title>{Encode(title)} · Email OAuth2 Proxy</title><link rel=\"stylesheet\" href=\"{StylesheetPath}\">{headHtml}</head>"
        + $"<body><main><h1>{Encode(title)}</h1>{bodyHtml}</main></body></html>";

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>
    /// 303 See Other, the answer to a form's POST: the browser follows with a GET, so a reload does not post
    /// the form again. <paramref name="location"/> is a path on this listener or the provider's authorize URL.
    /// </summary>
    public static IResult SeeOther(HttpContext context, string location)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.Headers.Location = location;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }
}
