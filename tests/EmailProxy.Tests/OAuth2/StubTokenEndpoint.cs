using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace EmailProxy.Tests.OAuth2;

/// <summary>
/// Plays a token endpoint: records every form it receives, can hold the requests on a
/// <see cref="TaskCompletionSource"/>, and answers with what <see cref="Respond"/> returns.
/// </summary>
internal sealed class StubTokenEndpoint : HttpMessageHandler
{
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, string>> _forms = new();
    private int _requests;

    /// <summary>Completes when the first request has arrived (before it is held or answered).</summary>
    public TaskCompletionSource FirstRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, each request waits for it before being answered.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>Builds the answer to the n-th request (1-based) with its form.</summary>
    public Func<int, IReadOnlyDictionary<string, string>, HttpResponseMessage> Respond { get; set; } =
        (n, _) => Token($"access-{n}", $"refresh-{n}");

    public int RequestCount => Volatile.Read(ref _requests);

    public IReadOnlyList<IReadOnlyDictionary<string, string>> Forms => [.. _forms];

    public static HttpResponseMessage Token(string accessToken, string? refreshToken, int expiresIn = 3600)
    {
        var refresh = refreshToken is null ? "" : $"\"refresh_token\":\"{refreshToken}\",";
        return Json(HttpStatusCode.OK, $"{{\"access_token\":\"{accessToken}\",{refresh}\"expires_in\":{expiresIn},\"token_type\":\"Bearer\"}}");
    }

    public static HttpResponseMessage InvalidGrant() => Json(
        HttpStatusCode.BadRequest,
        "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: The refresh token has expired due to inactivity.\\r\\nTrace ID: x\\r\\nCorrelation ID: y\",\"error_codes\":[70008]}");

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _requests);
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var form = new FormReader(body).ReadForm().ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        _forms.Enqueue(form);
        Assert.Equal(HttpMethod.Post, request.Method);
        FirstRequest.TrySetResult();
        if (Hold is { } hold)
        {
            await hold.Task.WaitAsync(cancellationToken);
        }
        return Respond(n, form);
    }
}
