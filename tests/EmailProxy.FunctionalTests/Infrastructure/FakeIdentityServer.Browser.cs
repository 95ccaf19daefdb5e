using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The sign-in page a person sees at the provider, for the browser tests: with <see cref="ShowsSignInPage"/> on,
/// a valid authorize request is answered with an HTML page naming the user and the app and an "Accept" button,
/// and only that button's POST sends the browser on to the redirect_uri with the code, as Microsoft's consent
/// page does. Off (the default), authorize redirects at once, as every other test expects.
/// </summary>
internal sealed partial class FakeIdentityServer
{
    private const string AcceptPath = "/fake/accept";

    private readonly Dictionary<string, string> _consents = new(StringComparer.Ordinal);
    private int _signInPagesShown;

    /// <summary>When true, authorize shows a page with an "Accept" button instead of redirecting at once; default false.</summary>
    public bool ShowsSignInPage { get; set; }

    /// <summary>How many sign-in pages were shown (see <see cref="ShowsSignInPage"/>).</summary>
    public int SignInPagesShown => Volatile.Read(ref _signInPagesShown);

    private void MapBrowserPages(WebApplication app) => app.MapPost(AcceptPath, AcceptAsync);

    /// <summary>The answer to a valid authorize request whose code is issued: the redirect, or first the page.</summary>
    private IResult AnswerAuthorize(FakeAuthorizeRequest request, string redirectWithCode)
    {
        if (!ShowsSignInPage)
        {
            return Results.Redirect(redirectWithCode);
        }

        var consent = NewOpaque("fake-consent-");
        lock (_gate)
        {
            _consents[consent] = redirectWithCode;
        }

        Interlocked.Increment(ref _signInPagesShown);
        var encode = HtmlEncoder.Default;
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Sign in · Fake identity server</title></head>
            <body>
            <h1>Fake identity server</h1>
            <p>Sign in as <strong>{encode.Encode(request.LoginHint ?? "")}</strong> to the app {encode.Encode(request.ClientId ?? "")}?</p>
            <form method="post" action="{AcceptPath}">
            <input type="hidden" name="consent" value="{encode.Encode(consent)}">
            <button type="submit">Accept</button>
            </form>
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private async Task AcceptAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        string? redirect;
        lock (_gate)
        {
            _consents.Remove(form["consent"].ToString(), out redirect);
        }

        if (redirect is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Fake identity server: unknown or used consent.", context.RequestAborted);
            return;
        }

        // 303: the browser follows with a GET, as after Microsoft's own form.
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = redirect;
    }
}
