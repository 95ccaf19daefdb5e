using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Google's endpoint paths on the same server (<c>/o/oauth2/v2/auth</c>, <c>/token</c>: a refresh token only with
/// <c>access_type=offline</c>, token JSON without Microsoft's <c>ext_expires_in</c>), and an OpenID Connect discovery
/// document for a generic provider with <c>issuer = {Authority}/{Tenant}/v2.0</c>, naming the v2 endpoints.
/// </summary>
internal sealed partial class FakeIdentityServer
{
    private int _discoveryRequests;

    /// <summary>The issuer whose <c>/.well-known/openid-configuration</c> this server serves.</summary>
    public string Issuer => $"{Authority}/{Tenant}/v2.0";

    /// <summary>Google's authorize endpoint path on this server.</summary>
    public string GoogleAuthorizeUrl => $"{Authority}/o/oauth2/v2/auth";

    /// <summary>Google's token endpoint path on this server.</summary>
    public string GoogleTokenUrl => $"{Authority}/token";

    /// <summary>How many times the discovery document was asked for.</summary>
    public int DiscoveryRequests => Volatile.Read(ref _discoveryRequests);

    /// <summary>When set, the discovery document answers 404 (a wrong issuer).</summary>
    public bool DiscoveryMissing { get; set; }

    private void MapGoogleAndDiscovery(WebApplication app)
    {
        app.MapGet("/o/oauth2/v2/auth", (Delegate)((HttpContext context) => Authorize(Tenant, context, google: true)));
        app.MapPost("/token", (Delegate)((HttpContext context) => TokenAsync(Tenant, context, google: true)));
        app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (string tenant) =>
        {
            Interlocked.Increment(ref _discoveryRequests);
            if (DiscoveryMissing || tenant != Tenant)
            {
                return Results.NotFound();
            }
            var root = $"{Authority}/{Tenant}/oauth2/v2.0";
            return Results.Json(new Dictionary<string, string>
            {
                ["issuer"] = Issuer,
                ["authorization_endpoint"] = $"{root}/authorize",
                ["token_endpoint"] = $"{root}/token",
                ["device_authorization_endpoint"] = $"{root}/devicecode",
                ["introspection_endpoint"] = IntrospectionUrl,
            });
        });
    }

    private static string WithoutExtExpiresIn(string json)
    {
        if (JsonNode.Parse(json) is not JsonObject body)
        {
            return json;
        }
        body.Remove("ext_expires_in");
        return body.ToJsonString();
    }
}
