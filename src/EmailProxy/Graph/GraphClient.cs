using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.Connections;

namespace EmailProxy.Graph;

/// <summary>
/// The Microsoft Graph requests of a delivery, under <c>{graph_url}/v1.0/users/{username}</c>: each
/// with the bearer token, its own time limit (<see cref="RequestTimeout"/>), and its answer read into
/// a <see cref="GraphAnswer"/> (never an exception for what the network or Graph did; cancellation aside).
/// </summary>
internal sealed class GraphClient(GraphHttp http)
{
    /// <summary>
    /// TEST ONLY: seconds that replace <see cref="RequestTimeout"/>'s two minutes, so that the functional tests
    /// see a Graph that never answers given up on quickly. Read once per process; not a configuration key, since
    /// two minutes per request (a 4 MB sendMail, one upload chunk) suits every real link and an operator has
    /// no reason to change it.
    /// </summary>
    public const string TestRequestTimeoutVariable = "EMAILPROXY_TEST_GRAPH_REQUEST_TIMEOUT";

    /// <summary>How long one request may take, body included (a 4 MB sendMail, one upload chunk).</summary>
    public static readonly TimeSpan RequestTimeout =
        double.TryParse(Environment.GetEnvironmentVariable(TestRequestTimeoutVariable), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(2);

    /// <summary>The most of an answer's body that is read (Graph's errors and created objects are small).</summary>
    private const int MaxBodyChars = 64 * 1024;

    public static Uri UserUrl(AccountOptions account, string path) =>
        new(account.GraphUrl, $"/v1.0/users/{Uri.EscapeDataString(account.Username)}/{path}");

    /// <summary>POST …/sendMail with the message as base64 MIME (<c>Content-Type: text/plain</c>).</summary>
    public Task<GraphAnswer> SendMimeAsync(AccountOptions account, ServerOptions? server, string accessToken, HttpContent mime, CancellationToken cancellationToken) =>
        SendAsync(server, HttpMethod.Post, UserUrl(account, "sendMail"), accessToken, mime, cancellationToken);

    public async Task<GraphAnswer> SendAsync(ServerOptions? server, HttpMethod method, Uri url, string? accessToken, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        var sent = false;
        try
        {
            using var response = await http.For(server).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            sent = true;
            var body = await ReadBoundedAsync(response.Content, timeout.Token);
            return Read(response, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return GraphAnswer.Failed($"no answer within {RequestTimeout.TotalSeconds:0} seconds", maybeSent: true);
        }
        catch (HttpRequestException e)
        {
            // Not connected at all: nothing went out. Anything later may have reached Graph.
            var notConnected = !sent && e.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError;
            return GraphAnswer.Failed(ClientText.Sanitize(e.Message, 300), maybeSent: !notConnected);
        }
        catch (IOException e)
        {
            return GraphAnswer.Failed(ClientText.Sanitize(e.Message, 300), maybeSent: true);
        }
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await content.ReadAsStreamAsync(cancellationToken));
        var buffer = new char[MaxBodyChars];
        var read = 0;
        while (read < buffer.Length && await reader.ReadAsync(buffer.AsMemory(read), cancellationToken) is var n and > 0)
        {
            read += n;
        }
        return new string(buffer, 0, read);
    }

    private static GraphAnswer Read(HttpResponseMessage response, string body)
    {
        var retryAfter = response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        string? code = null;
        string? message = null;
        var isJson = false;
        if (body.Length > 0)
        {
            try
            {
                using var json = JsonDocument.Parse(body);
                isJson = true;
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                {
                    code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? ClientText.Sanitize(m.GetString() ?? "", 400) : null;
                }
            }
            catch (JsonException)
            {
                isJson = false;
            }
        }
        return new GraphAnswer((int)response.StatusCode, code, message, retryAfter, isJson || body.Length == 0) { Body = isJson ? body : null };
    }

    /// <summary>Whether a status is one Graph uses for "busy, come back later".</summary>
    public static bool IsThrottled(int status) => status is (int)HttpStatusCode.TooManyRequests or (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.GatewayTimeout;
}
