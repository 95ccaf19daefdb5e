using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Hosting;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.Web;

/// <summary>
/// The control endpoints the command line drives a running proxy with (DESIGN.md "HTTP"), under
/// <see cref="Prefix"/>:
/// <list type="bullet">
/// <item><c>POST /api/accounts/{name}/signin</c> <c>{"method": "browser" | "device_code"}</c> (optional):
/// starts or joins the account's sign-in; answers its id and what to open.</item>
/// <item><c>GET /api/signins/{id}</c>: <c>pending</c>, <c>succeeded</c> or <c>failed</c>, with the message and identity.</item>
/// <item><c>POST /api/signins/{id}/paste</c> <c>{"address": "…"}</c>: completes a browser sign-in from the pasted address.</item>
/// <item><c>POST /api/accounts/{name}/forget</c>: forgets the account's tokens (file and memory).</item>
/// <item><c>POST /api/reload</c>: reads the configuration file again (<see cref="ConfigReloader"/>, as SIGHUP does); 200 with
/// the summary of what changed, or 422 with the errors of a file that was refused (the configuration in effect stays).</item>
/// </list>
/// Every request under the prefix must come over a loopback connection (else 403) and carry
/// <c>Authorization: Bearer &lt;control.token&gt;</c> (else 401), with no detail either way. They need
/// no admin_password (<see cref="AdminAuthentication"/> lets the prefix through to this check) and
/// no anti-forgery token (a browser cannot send the bearer header cross-site, and cannot read the
/// file); <see cref="HostHeaderCheck"/> still applies before. JSON in and out (<see cref="ControlJsonContext"/>).
/// </summary>
internal static class ControlEndpoints
{
    public const string Prefix = "/api";

    /// <summary>The largest request body taken (a pasted address is capped at 8 KiB).</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>Case-insensitive, as routing matches literal segments: <c>/API/…</c> reaches the same endpoints and must meet the same check.</summary>
    public static bool IsControlPath(PathString path) => path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase);

    public static void Map(WebApplication app, LiveConfig config)
    {
        var token = app.Services.GetService<ControlToken>();
        app.Use(async (context, next) =>
        {
            if (!IsControlPath(context.Request.Path))
            {
                await next(context);
                return;
            }
            var status = Authorize(context, token);
            if (status != StatusCodes.Status200OK)
            {
                context.Response.StatusCode = status;
                context.Response.Headers.CacheControl = "no-store";
                return;
            }
            context.Response.Headers.CacheControl = "no-store";
            await next(context);
        });
        // The endpoints check again themselves: whatever path spelling reached them, no request runs one unauthorised.
        var api = app.MapGroup(Prefix).AddEndpointFilter(async (invocation, next) =>
        {
            var status = Authorize(invocation.HttpContext, token);
            return status == StatusCodes.Status200OK ? await next(invocation) : Results.StatusCode(status);
        });

        api.MapPost("/accounts/{name}/signin", async (HttpContext context, [FromServices] SignInManager signIns, [FromServices] ControlSignIns registry, [FromServices] TimeProvider time) =>
        {
            // emailproxy auth NAME: a name a template matches gets its account now, as its first login would make it.
            var (account, refusal) = WebEndpoints.AccountNameOf(context) is { } name ? config.Current.ResolveAccount(name, time.GetUtcNow()) : (null, null);
            if (refusal is not null)
            {
                return Error(StatusCodes.Status409Conflict, refusal);
            }
            if (account is null)
            {
                return UnknownAccount(context);
            }
            if (account.TokenFrom is { } tokenFrom)
            {
                return Error(StatusCodes.Status409Conflict, $"account {account.Name} uses the sign-in of account {tokenFrom} (token_from): sign in as {tokenFrom}");
            }
            var (read, unreadable) = await ReadAsync(context, ControlJsonContext.Default.ControlSignInRequest);
            if (unreadable is not null)
            {
                return unreadable;
            }
            var request = read ?? new ControlSignInRequest();
            SignInMethod? method = request.Method switch
            {
                null => null,
                "browser" => SignInMethod.Browser,
                "device_code" => SignInMethod.DeviceCode,
                _ => (SignInMethod)(-1),
            };
            if (method == (SignInMethod)(-1))
            {
                return Error(StatusCodes.Status400BadRequest, "method must be \"browser\" or \"device_code\"");
            }
            if (account.Flow == OAuthFlow.ClientCredentials)
            {
                return Error(StatusCodes.Status409Conflict, $"account {account.Name} uses client credentials: app-only accounts need no sign-in");
            }
            if ((method ?? SignInManager.DefaultMethod(account)) == SignInMethod.Browser && account.AuthorizeUrl is null && account.Discovery is null)
            {
                return Error(StatusCodes.Status409Conflict, $"account {account.Name} has no authorize_url: it cannot sign in in a browser");
            }
            var pending = await signIns.StartOrJoinAsync(account, method, context.RequestAborted);
            if ((pending.Method == SignInMethod.DeviceCode ? pending.UserCode is null : pending.AuthorizeUrl is null) && pending.Completion.IsCompleted)
            {
                // The provider gave no code (its device endpoint refused or did not answer): its words, with the fix where known.
                return Error(StatusCodes.Status502BadGateway, (await pending.Completion).Message);
            }
            var id = registry.Register(pending);
            return Results.Json(pending.Method == SignInMethod.Browser
                ? new ControlSignInStarted(id, account.Name, "browser", pending.ExpiresAt, AuthorizeUrl: pending.AuthorizeUrl!.AbsoluteUri)
                : new ControlSignInStarted(id, account.Name, "device_code", pending.ExpiresAt, VerificationUri: pending.VerificationUri?.AbsoluteUri, UserCode: pending.UserCode),
                ControlJsonContext.Default.ControlSignInStarted);
        });

        api.MapGet("/signins/{id}", (string id, [FromServices] ControlSignIns registry, [FromServices] TimeProvider time) =>
            registry.Find(id) is { } pending
                ? Results.Json(StateOf(pending, time.GetUtcNow()), ControlJsonContext.Default.ControlSignInState)
                : Error(StatusCodes.Status404NotFound, "there is no such sign-in (it ended long ago, or the proxy restarted)"));

        api.MapPost("/signins/{id}/paste", async (string id, HttpContext context, [FromServices] ControlSignIns registry, [FromServices] SignInManager signIns) =>
        {
            if (registry.Find(id) is not { } pending)
            {
                return Error(StatusCodes.Status404NotFound, "there is no such sign-in (it ended long ago, or the proxy restarted)");
            }
            if (pending.Method != SignInMethod.Browser)
            {
                return Error(StatusCodes.Status409Conflict, "this sign-in uses a device code: there is no address to paste");
            }
            var (request, unreadable) = await ReadAsync(context, ControlJsonContext.Default.ControlPasteRequest);
            if (unreadable is not null)
            {
                return unreadable;
            }
            var completion = await signIns.CompletePastedAsync(pending.Account, request?.Address ?? "", context.RequestAborted);
            return Results.Json(
                new ControlSignInState(completion.Succeeded ? ControlSignInState.Succeeded : ControlSignInState.Failed, completion.Message, pending.ExpiresAt, completion.Identity, completion.Password?.Take()),
                ControlJsonContext.Default.ControlSignInState);
        });

        api.MapPost("/reload", async (HttpContext context) =>
        {
            if (context.RequestServices.GetService<ConfigReloader>() is not { } reloader)
            {
                return Error(StatusCodes.Status503ServiceUnavailable, "this proxy cannot reload its configuration");
            }
            var outcome = await reloader.ReloadAsync(ConfigReloader.RequestTrigger, context.RequestAborted);
            return outcome.Applied
                ? Results.Json(new ControlReloadResult(outcome.Text), ControlJsonContext.Default.ControlReloadResult)
                : Error(StatusCodes.Status422UnprocessableEntity, $"the configuration was not reloaded: {outcome.Text}");
        });

        api.MapPost("/accounts/{name}/forget", async (HttpContext context, [FromServices] TokenService tokens) =>
        {
            if (FindAccount(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            try
            {
                return Results.Json(new ControlForgetResult(await tokens.ForgetAsync(account, context.RequestAborted)), ControlJsonContext.Default.ControlForgetResult);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Error(StatusCodes.Status500InternalServerError, $"the proxy forgot the tokens of account {account.Name}, but its token file could not be removed: {e.Message}");
            }
        });
    }

    /// <summary>
    /// 200 when the request may use the control endpoints: over a loopback connection, with the
    /// bearer token; else 403 (not loopback, or no token written) or 401 (no or wrong token).
    /// </summary>
    internal static int Authorize(HttpContext context, ControlToken? token)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote) || token is null)
        {
            return StatusCodes.Status403Forbidden;
        }
        return token.Matches(context.Request.Headers.Authorization.ToString()) ? StatusCodes.Status200OK : StatusCodes.Status401Unauthorized;
    }

    private static ControlSignInState StateOf(PendingSignIn pending, DateTimeOffset now)
    {
        if (pending.Completion.IsCompletedSuccessfully)
        {
            var done = pending.Completion.Result;
            return new(done.Succeeded ? ControlSignInState.Succeeded : ControlSignInState.Failed, done.Message, pending.ExpiresAt, done.Identity, done.Password?.Take());
        }
        return pending.ExpiresAt <= now
            ? new(ControlSignInState.Failed, $"The sign-in of account {pending.Account.Name} expired before it was completed: start it again.", pending.ExpiresAt)
            : new(ControlSignInState.Pending, $"Waiting for the sign-in of account {pending.Account.Name}.", pending.ExpiresAt);
    }

    private static AccountOptions? FindAccount(HttpContext context, LiveConfig config) =>
        WebEndpoints.AccountNameOf(context) is { } name ? config.Current.FindAccount(name) : null;

    private static IResult UnknownAccount(HttpContext context) =>
        Error(StatusCodes.Status404NotFound, $"there is no [account {ClientText.Sanitize(WebEndpoints.AccountNameOf(context))}] in the proxy's configuration");

    private static IResult Error(int status, string message) =>
        Results.Json(new ControlError(message), ControlJsonContext.Default.ControlError, statusCode: status);

    /// <summary>
    /// The request's JSON body: null when there is none, else the value, or the answer to give for a body
    /// that does not parse (400: a cut-off body must not start the default sign-in) or is larger than
    /// <see cref="MaxBodyBytes"/> (413, said in words; no unhandled exception in the log).
    /// </summary>
    private static async Task<(T? Value, IResult? Unreadable)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }
        if (context.Request.ContentLength is 0)
        {
            return (null, null);
        }
        try
        {
            return (await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted), null);
        }
        catch (JsonException)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "the request body is not the JSON this endpoint takes"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Error(StatusCodes.Status413PayloadTooLarge, $"the request body is larger than {MaxBodyBytes / 1024} KiB (a pasted address may be 8 KiB)"));
        }
    }
}
