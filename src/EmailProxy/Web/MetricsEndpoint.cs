using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace EmailProxy.Web;

/// <summary>
/// <c>/metrics</c>: <see cref="ProxyMetrics"/> in Prometheus text (<see cref="PrometheusExport"/>). It is
/// guarded like the pages (<see cref="AdminAuthentication"/>: behind <c>admin_password</c> when that is
/// set), and a scraper that cannot do the password may instead send <c>[general] metrics_token</c> as
/// <c>Authorization: Bearer …</c>; that token opens nothing else.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static void Map(WebApplication app) =>
        app.MapMetrics(Path, app.Services.GetRequiredService<PrometheusExport>().Registry);

    /// <summary>Whether the request is for <see cref="Path"/> and carries a bearer token.</summary>
    public static bool HasBearer(HttpRequest request) =>
        request.Path.Equals(Path, StringComparison.Ordinal) && BearerOf(request) is not null;

    /// <summary>
    /// Whether the request is for <see cref="Path"/> with <c>metrics_token</c> as its bearer token. Compared
    /// in constant time, as SHA-256 digests, so that neither the time nor the length tells a guesser anything.
    /// </summary>
    public static bool HasToken(HttpRequest request, GeneralOptions general)
    {
        if (general.MetricsToken is not { } expected || !request.Path.Equals(Path, StringComparison.Ordinal) || BearerOf(request) is not { } sent)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }

    private static string? BearerOf(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
        && header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
        && header.Parameter is { Length: > 0 } token
            ? token
            : null;
}
