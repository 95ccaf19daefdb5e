using System.Text.Json;

namespace EmailProxy.Providers;

/// <summary>
/// The parts of an OpenID Connect discovery document (<c>{issuer}/.well-known/openid-configuration</c>, OpenID
/// Connect Discovery 1.0 section 4) the proxy uses: the issuer it names and the three endpoints. Endpoints must be
/// absolute https URLs (http only on loopback, as the file's own URLs); a missing one is null.
/// </summary>
internal sealed record DiscoveryDocument(Uri Issuer, Uri? AuthorizationEndpoint, Uri? TokenEndpoint, Uri? DeviceAuthorizationEndpoint)
{
    /// <summary>A document larger than this is not a discovery document.</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>
    /// Parses <paramref name="json"/> as the document of <paramref name="issuer"/>: null and a one-line
    /// <paramref name="problem"/> when it is not JSON, names another issuer (section 4.3: it must be the very issuer
    /// asked), or gives an endpoint that is not an acceptable URL.
    /// </summary>
    public static DiscoveryDocument? Parse(Uri issuer, string json, out string? problem)
    {
        problem = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            problem = "is not JSON";
            return null;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = "is JSON but not an object";
                return null;
            }
            var root = document.RootElement;
            var named = Text(root, "issuer");
            if (named is null)
            {
                problem = "names no issuer";
                return null;
            }
            if (!SameIssuer(named, issuer))
            {
                problem = $"names the issuer {Shown(named)}, not {issuer.OriginalString}: set issuer to exactly the issuer the document names (or fix the URL)";
                return null;
            }
            var authorize = Endpoint(root, "authorization_endpoint", ref problem);
            var token = Endpoint(root, "token_endpoint", ref problem);
            var device = Endpoint(root, "device_authorization_endpoint", ref problem);
            return problem is null ? new DiscoveryDocument(issuer, authorize, token, device) : null;
        }
    }

    /// <summary>The same issuer, but for one trailing slash (OpenID says identical; providers differ in the slash, and people copy either).</summary>
    private static bool SameIssuer(string named, Uri issuer) =>
        named.TrimEnd('/').Equals(issuer.OriginalString.TrimEnd('/'), StringComparison.Ordinal);

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static Uri? Endpoint(JsonElement root, string name, ref string? problem)
    {
        if (Text(root, name) is not { } text)
        {
            return null;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
        {
            problem ??= $"gives {name} {Shown(text)}, which is not an https:// URL (plain http:// only on loopback)";
            return null;
        }
        return uri;
    }

    private static string Shown(string text) => $"'{Connections.ClientText.Sanitize(text, 200)}'";
}
