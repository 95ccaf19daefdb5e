using System.Collections.Concurrent;
using System.Net;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.FunctionalTests.Graph;

/// <summary>
/// A fake of Microsoft Graph's mail sending on its own loopback HTTPS port (the tests' trusted CA, so
/// the proxy trusts it through the [server]'s ca_file): <c>POST /v1.0/users/{user}/sendMail</c> with
/// base64 MIME; drafts made from base64 MIME (<c>POST …/messages</c>), their attachments in one request
/// or through <c>createUploadSession</c> and PUTs of byte ranges in order, their <c>send</c> and DELETE. The bearer token must be one <see cref="FakeIdentityServer"/> issued for the user,
/// for the Graph audience only, with <c>Mail.Send</c> (or <c>Mail.Send.Shared</c>, or the app's
/// <c>.default</c>). Every accepted message is kept; <see cref="FailNext"/> makes the next requests
/// answer 401, 403, 413, 429 with Retry-After, something not JSON, or no answer at all.
/// </summary>
internal sealed class FakeGraphServer(FakeIdentityServer identity) : IAsyncDisposable
{
    public const string GraphResource = "https://graph.microsoft.com/";
    public const int RetryAfterSeconds = 7;

    private static readonly string[] FromStart = ["0-"];

    private readonly ConcurrentQueue<FakeGraphMessage> _messages = new();
    private readonly ConcurrentDictionary<FakeGraphStep, ConcurrentQueue<FakeGraphFault>> _faults = new();
    private readonly ConcurrentDictionary<string, bool> _revoked = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, FakeGraphDraft> _drafts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeUploadSession> _uploads = new(StringComparer.Ordinal);
    private int _deletedDrafts;
    private int _requests;
    private WebApplication? _app;

    public int Port { get; private set; }

    /// <summary><c>https://127.0.0.1:{port}</c>: the account's graph_url.</summary>
    public string Url => $"https://127.0.0.1:{Port}";

    public IReadOnlyList<FakeGraphMessage> Messages => [.. _messages];

    /// <summary>
    /// The copies the mailbox keeps in Sent Items: every MIME sendMail's (it has no saveToSentItems switch) and
    /// every sent draft's, except a draft marked PidTagDeleteAfterSubmit, which Exchange deletes once submitted.
    /// </summary>
    public IReadOnlyList<FakeGraphMessage> SentItems => [.. _sentItems];

    private readonly ConcurrentQueue<FakeGraphMessage> _sentItems = new();

    /// <summary>Drafts made and neither sent nor deleted.</summary>
    public int OpenDrafts => _drafts.Count;

    /// <summary>Drafts deleted (a failed large send cleans up after itself).</summary>
    public int DeletedDrafts => Volatile.Read(ref _deletedDrafts);

    /// <summary>The largest request body received, in bytes (Graph's limit is 4 MB).</summary>
    public long LargestRequest => Interlocked.Read(ref _largestRequest);

    private long _largestRequest;

    /// <summary>When set, the draft's send answers this fault (the draft is kept, as Graph would).</summary>
    public FakeGraphFault? FailDraftSend { get; set; }

    /// <summary>sendMail requests received, whatever was answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests refused for their token (missing, unknown, wrong audience or scope).</summary>
    public int TokenRefusals => Volatile.Read(ref _tokenRefusals);

    private int _tokenRefusals;

    /// <summary>Set when a <see cref="FakeGraphFault.DropConnection"/> request has been read whole.</summary>
    public TaskCompletionSource DropReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a <see cref="FakeGraphFault.Hang"/> request has been read whole (and is being held).</summary>
    public TaskCompletionSource HangReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The next sendMail requests answer these faults, one each, in order.</summary>
    public void FailNext(params FakeGraphFault[] faults) => FailNextAt(FakeGraphStep.SendMail, faults);

    /// <summary>
    /// The next requests of <paramref name="step"/> answer these faults, one each, in order (after their token
    /// was checked). <see cref="FakeGraphFault.Unauthorized"/> also revokes the token it was given: every later
    /// request with it is refused, as Graph refuses an expired or revoked token.
    /// </summary>
    public void FailNextAt(FakeGraphStep step, params FakeGraphFault[] faults)
    {
        var queue = _faults.GetOrAdd(step, static _ => new ConcurrentQueue<FakeGraphFault>());
        foreach (var fault in faults)
        {
            queue.Enqueue(fault);
        }
    }

    /// <summary>Answers the next fault set for <paramref name="step"/>, if any; true when it did.</summary>
    private async Task<bool> FaultedAsync(FakeGraphStep step, HttpContext context)
    {
        if (!_faults.TryGetValue(step, out var queue) || !queue.TryDequeue(out var fault))
        {
            return false;
        }
        await FaultAsync(context, fault);
        return true;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Limits.MaxRequestBodySize = null;
            options.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(TestCertificates.Trusted.ServerCertificate));
        });
        var app = builder.Build();
        app.MapPost("/v1.0/users/{user}/sendMail", (string user, HttpContext context) => SendMailAsync(user, context));
        app.MapPost("/v1.0/users/{user}/messages", (string user, HttpContext context) => CreateDraftAsync(user, context));
        app.MapPost("/v1.0/users/{user}/messages/{id}/attachments", (string user, string id, HttpContext context) => AddAttachmentAsync(user, id, context));
        app.MapPost("/v1.0/users/{user}/messages/{id}/attachments/createUploadSession", (string user, string id, HttpContext context) => CreateUploadSessionAsync(user, id, context));
        app.MapPut("/upload/{session}", (string session, HttpContext context) => UploadAsync(session, context));
        app.MapPatch("/v1.0/users/{user}/messages/{id}", (string user, string id, HttpContext context) => PatchDraftAsync(user, id, context));
        app.MapPost("/v1.0/users/{user}/messages/{id}/send", (string user, string id, HttpContext context) => SendDraftAsync(user, id, context));
        app.MapDelete("/v1.0/users/{user}/messages/{id}", (string user, string id, HttpContext context) => DeleteDraftAsync(user, id, context));
        await app.StartAsync();
        _app = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel did not report its addresses.");
        Port = new Uri(addresses.Addresses.First()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // A held (Hang) response ends now: the test is over.
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
        _stopping.Dispose();
    }

    private async Task SendMailAsync(string user, HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var reader = new StreamReader(context.Request.Body, Encoding.ASCII);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        Record(body.Length);
        if (Refusal(user, context.Request.Headers.Authorization.ToString()) is { } refusal)
        {
            Interlocked.Increment(ref _tokenRefusals);
            await ErrorAsync(context, 401, "InvalidAuthenticationToken", refusal);
            return;
        }
        if (await FaultedAsync(FakeGraphStep.SendMail, context))
        {
            return;
        }
        if (!context.Request.ContentType?.StartsWith("text/plain", StringComparison.Ordinal) ?? true)
        {
            await ErrorAsync(context, 400, "ErrorMimeContentInvalid", "MIME content must be sent as text/plain base64 (fake).");
            return;
        }
        byte[] mime;
        try
        {
            mime = Convert.FromBase64String(body);
        }
        catch (FormatException)
        {
            await ErrorAsync(context, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.");
            return;
        }
        var sent = new FakeGraphMessage(user, mime);
        _messages.Enqueue(sent);
        _sentItems.Enqueue(sent);
        context.Response.StatusCode = 202;
    }

    private async Task<byte[]?> ReadMimeAsync(string user, HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.ASCII);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        Record(body.Length);
        if (Refusal(user, context.Request.Headers.Authorization.ToString()) is { } refusal)
        {
            Interlocked.Increment(ref _tokenRefusals);
            await ErrorAsync(context, 401, "InvalidAuthenticationToken", refusal);
            return null;
        }
        try
        {
            return Convert.FromBase64String(body);
        }
        catch (FormatException)
        {
            await ErrorAsync(context, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.");
            return null;
        }
    }

    private void Record(long length)
    {
        long seen;
        while (length > (seen = Interlocked.Read(ref _largestRequest)) && Interlocked.CompareExchange(ref _largestRequest, length, seen) != seen)
        {
        }
    }

    private async Task<System.Text.Json.JsonElement?> ReadJsonAsync(string user, HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        Record(body.Length);
        if (Refusal(user, context.Request.Headers.Authorization.ToString()) is { } refusal)
        {
            Interlocked.Increment(ref _tokenRefusals);
            await ErrorAsync(context, 401, "InvalidAuthenticationToken", refusal);
            return null;
        }
        return System.Text.Json.JsonDocument.Parse(body.Length == 0 ? "{}" : body).RootElement.Clone();
    }

    private async Task CreateDraftAsync(string user, HttpContext context)
    {
        if (await ReadMimeAsync(user, context) is not { } mime || await FaultedAsync(FakeGraphStep.CreateDraft, context))
        {
            return;
        }
        var id = "AAMk" + Guid.NewGuid().ToString("N") + "=";
        _drafts[id] = new FakeGraphDraft(user, mime);
        context.Response.StatusCode = 201;
        await context.Response.WriteAsJsonAsync(new { id }, context.RequestAborted);
    }

    private async Task AddAttachmentAsync(string user, string id, HttpContext context)
    {
        if (await ReadJsonAsync(user, context) is not { } json || await FaultedAsync(FakeGraphStep.AddAttachment, context))
        {
            return;
        }
        if (!_drafts.TryGetValue(id, out var draft))
        {
            await ErrorAsync(context, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
            return;
        }
        lock (draft)
        {
            draft.Attachments.Add(new FakeGraphAttachment(json.GetProperty("name").GetString()!, json.GetProperty("contentType").GetString()!, json.GetProperty("contentBytes").GetBytesFromBase64()));
        }
        context.Response.StatusCode = 201;
        await context.Response.WriteAsJsonAsync(new { id = Guid.NewGuid().ToString("N") }, context.RequestAborted);
    }

    private async Task CreateUploadSessionAsync(string user, string id, HttpContext context)
    {
        if (await ReadJsonAsync(user, context) is not { } json || await FaultedAsync(FakeGraphStep.CreateUploadSession, context))
        {
            return;
        }
        if (!_drafts.TryGetValue(id, out var draft))
        {
            await ErrorAsync(context, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
            return;
        }
        var item = json.GetProperty("AttachmentItem");
        var session = Guid.NewGuid().ToString("N");
        _uploads[session] = new FakeUploadSession(draft, item.GetProperty("name").GetString()!, item.GetProperty("contentType").GetString()!, item.GetProperty("size").GetInt64());
        context.Response.StatusCode = 201;
        await context.Response.WriteAsJsonAsync(new { uploadUrl = $"{Url}/upload/{session}", nextExpectedRanges = FromStart }, context.RequestAborted);
    }

    private async Task UploadAsync(string sessionId, HttpContext context)
    {
        if (!string.IsNullOrEmpty(context.Request.Headers.Authorization))
        {
            await ErrorAsync(context, 400, "InvalidRequest", "The upload URL is pre-authenticated: no Authorization header (fake).");
            return;
        }
        if (!_uploads.TryGetValue(sessionId, out var session) || context.Request.Headers.ContentRange.ToString() is not { Length: > 0 } range
            || !System.Net.Http.Headers.ContentRangeHeaderValue.TryParse(range, out var parsed) || parsed.From != session.Received.Length || parsed.Length != session.Size)
        {
            await ErrorAsync(context, 416, "InvalidRange", "The Content-Range does not follow what was uploaded (fake).");
            return;
        }
        var chunk = new MemoryStream();
        await context.Request.Body.CopyToAsync(chunk, context.RequestAborted);
        Record(chunk.Length);
        if (chunk.Length != parsed.To - parsed.From + 1)
        {
            await ErrorAsync(context, 400, "InvalidRange", "The body does not match the Content-Range (fake).");
            return;
        }
        chunk.Position = 0;
        await chunk.CopyToAsync(session.Received, context.RequestAborted);
        if (session.Received.Length < session.Size)
        {
            context.Response.StatusCode = 200;
            await context.Response.WriteAsJsonAsync(new { nextExpectedRanges = new[] { $"{session.Received.Length}-" } }, context.RequestAborted);
            return;
        }
        _uploads.TryRemove(sessionId, out _);
        lock (session.Draft)
        {
            session.Draft.Attachments.Add(new FakeGraphAttachment(session.Name, session.ContentType, session.Received.ToArray()));
        }
        context.Response.StatusCode = 201;
    }

    /// <summary>PATCH of a draft: only its singleValueExtendedProperties are looked at (PidTagDeleteAfterSubmit).</summary>
    private async Task PatchDraftAsync(string user, string id, HttpContext context)
    {
        if (await ReadJsonAsync(user, context) is not { } json || await FaultedAsync(FakeGraphStep.PatchDraft, context))
        {
            return;
        }
        if (!_drafts.TryGetValue(id, out var draft))
        {
            await ErrorAsync(context, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
            return;
        }
        if (json.TryGetProperty("singleValueExtendedProperties", out var properties))
        {
            foreach (var property in properties.EnumerateArray())
            {
                if (string.Equals(property.GetProperty("id").GetString(), "Boolean 0x0E01", StringComparison.OrdinalIgnoreCase))
                {
                    draft.DeleteAfterSubmit = string.Equals(property.GetProperty("value").GetString(), "true", StringComparison.OrdinalIgnoreCase);
                }
            }
        }
        context.Response.StatusCode = 200;
        await context.Response.WriteAsJsonAsync(new { id }, context.RequestAborted);
    }

    private async Task SendDraftAsync(string user, string id, HttpContext context)
    {
        if (await ReadJsonAsync(user, context) is null || await FaultedAsync(FakeGraphStep.SendDraft, context))
        {
            return;
        }
        if (FailDraftSend is { } fault)
        {
            await FaultAsync(context, fault);
            return;
        }
        if (!_drafts.TryRemove(id, out var draft))
        {
            await ErrorAsync(context, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
            return;
        }
        var sent = new FakeGraphMessage(draft.User, draft.Mime) { Attachments = [.. draft.Attachments], DeleteAfterSubmit = draft.DeleteAfterSubmit };
        _messages.Enqueue(sent);
        if (!draft.DeleteAfterSubmit)
        {
            _sentItems.Enqueue(sent);
        }
        context.Response.StatusCode = 202;
    }

    private async Task DeleteDraftAsync(string user, string id, HttpContext context)
    {
        if (Refusal(user, context.Request.Headers.Authorization.ToString()) is { } refusal)
        {
            await ErrorAsync(context, 401, "InvalidAuthenticationToken", refusal);
            return;
        }
        if (await FaultedAsync(FakeGraphStep.DeleteDraft, context))
        {
            return;
        }
        if (_drafts.TryRemove(id, out _))
        {
            Interlocked.Increment(ref _deletedDrafts);
        }
        context.Response.StatusCode = 204;
    }

    /// <summary>Why the bearer token is refused, or null when it is a Graph token with Mail.Send for this user.</summary>
    private string? Refusal(string user, string authorization)
    {
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return "Access token is empty.";
        }
        var token = authorization["Bearer ".Length..];
        if (_revoked.ContainsKey(token))
        {
            return "Lifetime validation failed, the token is expired.";
        }
        if (!identity.IsValid(token, user) || identity.ScopeOf(token) is not { } scope)
        {
            return "Access token has expired or is not yet valid.";
        }
        var scopes = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0 || !scopes.All(s => s.StartsWith(GraphResource, StringComparison.OrdinalIgnoreCase)))
        {
            return $"Invalid audience: the token is for {scope}, not Microsoft Graph.";
        }
        return scopes.Any(s => s.EndsWith("/Mail.Send", StringComparison.OrdinalIgnoreCase) || s.EndsWith("/Mail.Send.Shared", StringComparison.OrdinalIgnoreCase) || s.EndsWith("/.default", StringComparison.Ordinal))
            ? null
            : $"The token has no Mail.Send ({scope}).";
    }

    private async Task FaultAsync(HttpContext context, FakeGraphFault fault)
    {
        switch (fault)
        {
            case FakeGraphFault.Unauthorized:
                if (context.Request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.Ordinal))
                {
                    _revoked[authorization["Bearer ".Length..]] = true;
                }
                await ErrorAsync(context, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.");
                break;
            case FakeGraphFault.AccessDenied:
                await ErrorAsync(context, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
                break;
            case FakeGraphFault.SendAsDenied:
                await ErrorAsync(context, 403, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.");
                break;
            case FakeGraphFault.TooLarge:
                await ErrorAsync(context, 413, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.");
                break;
            case FakeGraphFault.Throttled:
                context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await ErrorAsync(context, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.");
                break;
            case FakeGraphFault.NotJson:
                context.Response.StatusCode = 502;
                context.Response.ContentType = "text/html";
                await context.Response.WriteAsync("<html><body>Bad Gateway</body></html>", context.RequestAborted);
                break;
            case FakeGraphFault.DropConnection:
                DropReached.TrySetResult();
                context.Abort();
                break;
            case FakeGraphFault.Hang:
                HangReached.TrySetResult();
                var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (_stopping.Token.Register(() => released.TrySetResult()))
                using (context.RequestAborted.Register(() => released.TrySetResult()))
                {
                    await released.Task;
                }
                context.Abort();
                break;
        }
    }

    private static async Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsJsonAsync(new { error = new { code, message } }, context.RequestAborted);
    }
}
