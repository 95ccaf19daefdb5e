using System.Text;
using System.Text.Encodings.Web;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EmailProxy.Web;

/// <summary>The HTTP side on <c>redirect_uri</c>'s host:port: the OAuth2 redirect, sign-in links, a status page, <c>/healthz</c>.</summary>
internal static class WebEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ProxyConfig config)
    {
        var redirectPath = config.General.RedirectUri.AbsolutePath;
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/accounts/{name}/signin", (string name, SignInManager signIns) =>
        {
            var account = config.FindAccount(name);
            return account is null
                ? Page(StatusCodes.Status404NotFound, "Unknown account", $"There is no [account {name}] section in the proxy's configuration.")
                : account.AuthorizeUrl is null
                    ? Page(StatusCodes.Status404NotFound, "No browser sign-in", $"Account {name} has no authorize_url: it does not sign in in a browser.")
                    : Results.Redirect(signIns.StartOrJoin(account).AuthorizeUrl.AbsoluteUri);
        });
        app.MapGet(redirectPath, async (HttpRequest request, SignInManager signIns, TokenService tokens, CancellationToken cancellationToken) =>
        {
            var query = request.Query;
            if (query.ContainsKey("state") || query.ContainsKey("code") || query.ContainsKey("error"))
            {
                var result = await signIns.CompleteAsync(query["state"], query["code"], query["error"], query["error_description"]);
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

    private static async Task<IResult> StatusAsync(ProxyConfig config, TokenService tokens, CancellationToken cancellationToken)
    {
        var html = new StringBuilder();
        html.Append("<table><tr><th>Account</th><th>Mailbox</th><th>State</th><th></th></tr>");
        foreach (var account in config.Accounts.Values.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase))
        {
            var (signedIn, expiresAt, problem) = await tokens.DescribeAsync(account, cancellationToken);
            var state = signedIn
                ? $"signed in{(expiresAt is { } e ? $"; access token valid until {e:u}" : "")}"
                : problem is null ? "needs a sign-in" : $"needs a sign-in: {problem}";
            var link = $"/accounts/{Uri.EscapeDataString(account.Name)}/signin";
            html.Append("<tr><td>").Append(Encode(account.Name)).Append("</td><td>").Append(Encode(account.Username))
                .Append("</td><td>").Append(Encode(state)).Append("</td><td><a href=\"").Append(Encode(link))
                .Append("\">Sign in</a></td></tr>");
        }
        html.Append("</table>");
        return Results.Content(Document("Email OAuth2 Proxy", html.ToString()), "text/html; charset=utf-8");
    }

    private static IResult Page(int status, string title, string message) =>
        Results.Content(Document(title, $"<p>{Encode(message)}</p>"), "text/html; charset=utf-8", Encoding.UTF8, status);

    private static string Document(string title, string body) =>
        $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{Encode(title)}</title></head><body><h1>{Encode(title)}</h1>{body}</body></html>";

    private static string Encode(string text) => HtmlEncoder.Default.Encode(text);
}
