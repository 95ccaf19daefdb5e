using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The listener's own files: the stylesheet (<see cref="HtmlPage.StylesheetPath"/>) and the status
/// page's script (<see cref="StatusPage.ScriptPath"/>), embedded in the program (nothing to deploy
/// beside it, nothing from another site: the CSP allows only 'self'). Read once; cached by browsers
/// for an hour, so that a new version's files are picked up soon after an upgrade.
/// </summary>
internal static class StaticAssets
{
    private const string CacheControl = "public, max-age=3600";

    private static readonly FrozenDictionary<string, (string Resource, string ContentType)> Files = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        [HtmlPage.StylesheetPath] = ("EmailProxy.Web.Assets.status.css", "text/css; charset=utf-8"),
        [StatusPage.ScriptPath] = ("EmailProxy.Web.Assets.status.js", "text/javascript; charset=utf-8"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static void Map(WebApplication app)
    {
        foreach (var (path, (resource, contentType)) in Files)
        {
            var bytes = Read(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.Headers.CacheControl = CacheControl;
                return Results.Bytes(bytes, contentType);
            });
        }
    }

    private static byte[] Read(string resource)
    {
        using var stream = typeof(StaticAssets).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded file {resource} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
