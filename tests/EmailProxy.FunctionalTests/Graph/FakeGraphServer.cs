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
/// base64 MIME. The bearer token must be one <see cref="FakeIdentityServer"/> issued for the user,
/// for the Graph audience only, with <c>Mail.Send</c> (or <c>Mail.Send.Shared</c>, or the app's
/// <c>.default</c>). Every accepted message is kept; <see cref="FailNext"/> makes the next requests
/// answer 401, 403, 413, 429 with Retry-After, something not JSON, or no answer at all.
/// </summary>
internal sealed class FakeGraphServer(FakeIdentityServer identity) : IAsyncDisposable
{
    public const string GraphResource = "https://graph.microsoft.com/";
    public const int RetryAfterSeconds = 7;

    private readonly ConcurrentQueue<FakeGraphMessage> _messages = new();
    private readonly ConcurrentQueue<FakeGraphFault> _faults = new();
    private int _requests;
    private WebApplication? _app;

    public int Port { get; private set; }

    /// <summary><c>https://127.0.0.1:{port}</c>: the account's graph_url.</summary>
    public string Url => $"https://127.0.0.1:{Port}";

    public IReadOnlyList<FakeGraphMessage> Messages => [.. _messages];

    /// <summary>sendMail requests received, whatever was answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests refused for their token (missing, unknown, wrong audience or scope).</summary>
    public int TokenRefusals => Volatile.Read(ref _tokenRefusals);

    private int _tokenRefusals;

    /// <summary>Set when a <see cref="FakeGraphFault.DropConnection"/> request has been read whole.</summary>
    public TaskCompletionSource DropReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The next requests answer these faults, one each, in order.</summary>
    public void FailNext(params FakeGraphFault[] faults)
    {
        foreach (var fault in faults)
        {
            _faults.Enqueue(fault);
        }
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
        await app.StartAsync();
        _app = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel did not report its addresses.");
        Port = new Uri(addresses.Addresses.First()).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    private async Task SendMailAsync(string user, HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var reader = new StreamReader(context.Request.Body, Encoding.ASCII);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        if (Refusal(user, context.Request.Headers.Authorization.ToString()) is { } refusal)
        {
            Interlocked.Increment(ref _tokenRefusals);
            await ErrorAsync(context, 401, "InvalidAuthenticationToken", refusal);
            return;
        }
        if (_faults.TryDequeue(out var fault))
        {
            await FaultAsync(context, fault);
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
        _messages.Enqueue(new FakeGraphMessage(user, mime));
        context.Response.StatusCode = 202;
    }

    /// <summary>Why the bearer token is refused, or null when it is a Graph token with Mail.Send for this user.</summary>
    private string? Refusal(string user, string authorization)
    {
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return "Access token is empty.";
        }
        var token = authorization["Bearer ".Length..];
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
        }
    }

    private static async Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsJsonAsync(new { error = new { code, message } }, context.RequestAborted);
    }
}
