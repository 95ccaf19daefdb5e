using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A fake of the Microsoft identity platform v2 endpoints (authorize with PKCE S256, token with authorization_code
/// and refresh_token grants), on 127.0.0.1 with a port chosen by the system. Access tokens are opaque and kept with
/// their user and expiry so that <see cref="FakeExchangeImapServer"/> can check them with <see cref="IsValid"/>.
/// </summary>
internal sealed partial class FakeIdentityServer : IAsyncDisposable
{
    private static readonly string[] NonResourceScopes = ["offline_access", "openid", "profile", "email"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, FakeAuthorizationCode> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeIssuedToken> _accessTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeIssuedToken> _refreshTokens = new(StringComparer.Ordinal);
    private readonly List<FakeAuthorizeRequest> _authorizeRequests = [];
    private readonly List<FakeTokenRequest> _tokenRequests = [];
    private readonly Queue<(int Status, string Error, string Description)> _refreshFailures = new();
    private readonly ConcurrentDictionary<string, int> _tokenRequestCounts = new(StringComparer.Ordinal);
    private int _introspectionRequests;
    private WebApplication? _app;

    public FakeIdentityServer(string clientId = "test-client-id", string tenant = "test-tenant")
    {
        ClientId = clientId;
        Tenant = tenant;
    }

    /// <summary>The only client id the server knows.</summary>
    public string ClientId { get; }

    /// <summary>The only tenant the server knows (path segment of the endpoints).</summary>
    public string Tenant { get; }

    /// <summary>When set, the client is confidential and must send this client_secret; when null (default) it is public and must not.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The port bound after <see cref="StartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:{port}</c>, valid after <see cref="StartAsync"/>.</summary>
    public string Authority => $"http://127.0.0.1:{Port}";

    /// <summary>Lifetime of issued access tokens (<c>expires_in</c>); default 3600 s.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(3600);

    /// <summary>Delay before each token endpoint response (for timeout tests); default none.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;

    /// <summary>The clock used for token expiry; a test may replace it to move time.</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>When true (default), a refresh token stops working once it has been used (rotation is enforced).</summary>
    public bool InvalidateRotatedRefreshTokens { get; set; } = true;

    /// <summary>All authorize requests received, in order.</summary>
    public IReadOnlyList<FakeAuthorizeRequest> AuthorizeRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _authorizeRequests];
            }
        }
    }

    /// <summary>All token requests received, in order.</summary>
    public IReadOnlyList<FakeTokenRequest> TokenRequests
    {
        get
        {
            lock (_gate)
            {
                return [.. _tokenRequests];
            }
        }
    }

    /// <summary>Number of token requests with grant_type=authorization_code.</summary>
    public int AuthorizationCodeRequests => TokenRequestCount("authorization_code");

    /// <summary>Number of token requests with grant_type=refresh_token.</summary>
    public int RefreshTokenRequests => TokenRequestCount("refresh_token");

    /// <summary>Number of access tokens issued so far.</summary>
    public int IssuedAccessTokenCount
    {
        get
        {
            lock (_gate)
            {
                return _accessTokens.Count;
            }
        }
    }

    /// <summary><c>http://127.0.0.1:{port}/introspect</c>: the RFC 7662 token introspection endpoint (for Dovecot's oauth2 passdb).</summary>
    public string IntrospectionUrl => $"{Authority}/introspect";

    /// <summary>Number of requests received by the introspection endpoint.</summary>
    public int IntrospectionRequests => Volatile.Read(ref _introspectionRequests);

    /// <summary>Number of token requests received with the given grant_type (counted before any check).</summary>
    public int TokenRequestCount(string grantType) => _tokenRequestCounts.TryGetValue(grantType, out var count) ? count : 0;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/{tenant}/oauth2/v2.0/authorize", (string tenant, HttpContext context) => Authorize(tenant, context));
        app.MapPost("/{tenant}/oauth2/v2.0/token", (string tenant, HttpContext context) => TokenAsync(tenant, context));
        app.MapPost("/{tenant}/oauth2/v2.0/devicecode", (string tenant, HttpContext context) => DeviceCodeAsync(tenant, context));
        app.MapPost("/introspect", IntrospectAsync);
        MapBrowserPages(app);
        MapGoogleAndDiscovery(app);
        await app.StartAsync();
        _app = app;

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel did not report its addresses.");
        Port = new Uri(addresses.Addresses.First()).Port;
    }

    /// <summary>Makes the next refresh_token request fail with this error (once per call; calls queue up).</summary>
    public void FailNextRefreshWith(string error, string description, int statusCode = 400)
    {
        lock (_gate)
        {
            _refreshFailures.Enqueue((statusCode, error, description));
        }
    }

    /// <summary>Marks every access token issued so far as expired.</summary>
    public void ExpireAllAccessTokens()
    {
        lock (_gate)
        {
            var past = Clock().AddSeconds(-1);
            foreach (var token in _accessTokens.Values)
            {
                token.ExpiresAt = past;
            }
        }
    }

    /// <summary>Revokes every refresh token issued so far (the next refresh gets invalid_grant AADSTS70008).</summary>
    public void RevokeAllRefreshTokens()
    {
        lock (_gate)
        {
            foreach (var token in _refreshTokens.Values)
            {
                token.Revoked = true;
            }
        }
    }

    /// <summary>True if the access token was issued here for this user (case-insensitive), or for a delegate of its mailbox, or is an app token granted this mailbox, and has not expired.</summary>
    public bool IsValid(string accessToken, string user)
    {
        lock (_gate)
        {
            return (_accessTokens.TryGetValue(accessToken, out var token)
                && (string.Equals(token.User, user, StringComparison.OrdinalIgnoreCase) || MayActFor(token.User, user))
                && Clock() < token.ExpiresAt)
                || IsGrantedAppToken(accessToken, user);
        }
    }

    /// <summary>
    /// What the introspection endpoint answers for an access token (RFC 7662): for a token issued here that has not
    /// expired, <c>{"active":true,"email":user,...}</c>; for anything else only <c>{"active":false}</c>.
    /// </summary>
    public string Introspect(string? accessToken)
    {
        FakeIssuedToken? issued = null;
        lock (_gate)
        {
            if (accessToken is not null && _accessTokens.TryGetValue(accessToken, out var token) && Clock() < token.ExpiresAt)
            {
                issued = token;
            }
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteBoolean("active", issued is not null);
            if (issued is not null)
            {
                writer.WriteString("email", issued.User);
                writer.WriteString("username", issued.User);
                writer.WriteString("sub", issued.User);
                writer.WriteString("client_id", issued.ClientId);
                writer.WriteString("scope", issued.Scope);
                writer.WriteString("token_type", "Bearer");
                writer.WriteNumber("exp", issued.ExpiresAt.ToUnixTimeSeconds());
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Issues tokens for a user without the HTTP round trip (for tests of the fakes).</summary>
    public FakeTokenSet IssueTokenForTests(string user, string scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
    {
        lock (_gate)
        {
            return IssueTokens(user, ClientId, scope);
        }
    }

    /// <summary>Takes a refresh token issued before this server started (e.g. one in a token file kept as test data) as its own.</summary>
    public void AcceptRefreshTokenForTests(string refreshToken, string user, string scope)
    {
        lock (_gate)
        {
            _refreshTokens[refreshToken] = new FakeIssuedToken(user, ClientId, scope, Clock().AddDays(90));
        }
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

    /// <param name="google">Google's path: a refresh token only with <c>access_type=offline</c> (not with a scope).</param>
    private IResult Authorize(string tenant, HttpContext context, bool google = false)
    {
        var query = context.Request.Query.ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal);
        string? Get(string name) => query.TryGetValue(name, out var value) ? value : null;

        var request = new FakeAuthorizeRequest(
            tenant,
            Get("client_id"),
            Get("response_type"),
            Get("redirect_uri"),
            Get("scope"),
            Get("state"),
            Get("code_challenge"),
            Get("code_challenge_method"),
            Get("login_hint"),
            query);

        lock (_gate)
        {
            _authorizeRequests.Add(request);
        }

        if (!string.Equals(tenant, Tenant, StringComparison.Ordinal))
        {
            return Results.BadRequest($"AADSTS90002: Tenant '{tenant}' not found.");
        }

        if (!string.Equals(request.ClientId, ClientId, StringComparison.Ordinal))
        {
            return Results.BadRequest($"AADSTS700016: Application with identifier '{request.ClientId}' was not found in the directory '{tenant}'.");
        }

        if (request.ResponseType != "code")
        {
            return Results.BadRequest("AADSTS900144: response_type must be 'code' (fake).");
        }

        if (request.RedirectUri is null || !Uri.TryCreate(request.RedirectUri, UriKind.Absolute, out _))
        {
            return Results.BadRequest("AADSTS50011: redirect_uri missing or not absolute (fake).");
        }

        if (string.IsNullOrEmpty(request.CodeChallenge) || request.CodeChallengeMethod != "S256")
        {
            return Results.BadRequest("Fake identity server: PKCE with code_challenge_method=S256 is required.");
        }

        if (string.IsNullOrEmpty(request.Scope))
        {
            return Results.BadRequest("AADSTS900144: The request body must contain the following parameter: 'scope'.");
        }

        if (string.IsNullOrEmpty(request.LoginHint))
        {
            return Results.BadRequest("Fake identity server: login_hint is required (it is the user who signs in).");
        }

        var code = NewOpaque("fake-code-");
        lock (_gate)
        {
            var scope = google && Get("access_type") == "offline" ? request.Scope + " offline_access" : request.Scope;
            _codes[code] = new FakeAuthorizationCode(request.ClientId!, request.RedirectUri, request.CodeChallenge, SignedInUser(request.LoginHint), scope);
        }

        var parameters = new Dictionary<string, string?> { ["code"] = code };
        if (request.State is not null)
        {
            parameters["state"] = request.State;
        }

        return AnswerAuthorize(request, QueryHelpers.AddQueryString(request.RedirectUri, parameters));
    }

    private async Task IntrospectAsync(HttpContext context)
    {
        Interlocked.Increment(ref _introspectionRequests);
        string? token = null;
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            token = form.TryGetValue("token", out var value) ? value.ToString() : null;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(Introspect(token), Encoding.UTF8, context.RequestAborted);
    }

    /// <param name="google">Google's path: its token JSON, which has no <c>ext_expires_in</c>.</param>
    private async Task<IResult> TokenAsync(string tenant, HttpContext context, bool google = false)
    {
        var form = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted)).ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var grantType = form.GetValueOrDefault("grant_type") ?? string.Empty;
        _tokenRequestCounts.AddOrUpdate(grantType, 1, (_, count) => count + 1);
        var record = new FakeTokenRequest(tenant, grantType, form);
        lock (_gate)
        {
            _tokenRequests.Add(record);
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, context.RequestAborted);
        }

        if (!await HoldIfAskedAsync(grantType, context))
        {
            return Results.Empty;
        }

        var result = HandleToken(tenant, grantType, form);
        record.StatusCode = result.Status;
        return Results.Text(google ? WithoutExtExpiresIn(result.Json) : result.Json, "application/json; charset=utf-8", Encoding.UTF8, result.Status);
    }

    private (int Status, string Json) HandleToken(string tenant, string grantType, Dictionary<string, string> form)
    {
        if (!string.Equals(tenant, Tenant, StringComparison.Ordinal))
        {
            return Error(400, "invalid_request", $"AADSTS90002: Tenant '{tenant}' not found.");
        }

        var clientId = form.GetValueOrDefault("client_id");
        if (!string.Equals(clientId, ClientId, StringComparison.Ordinal))
        {
            return Error(400, "unauthorized_client", $"AADSTS700016: Application with identifier '{clientId}' was not found in the directory '{tenant}'.");
        }

        if (grantType == "client_credentials")
        {
            return ClientCredentials(tenant, form);
        }

        var secret = form.GetValueOrDefault("client_secret");
        if (ClientSecret is null && secret is not null)
        {
            return Error(401, "invalid_client", "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.");
        }

        if (ClientSecret is not null && secret is null)
        {
            return Error(401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
        }

        if (ClientSecret is not null && !string.Equals(secret, ClientSecret, StringComparison.Ordinal))
        {
            return Error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
        }

        lock (_gate)
        {
            return grantType switch
            {
                "authorization_code" => RedeemCode(form),
                "refresh_token" => Refresh(form),
                DeviceCodeGrant => PollDeviceCode(form),
                _ => Error(400, "unsupported_grant_type", $"AADSTS70003: The app requested an unsupported grant type '{grantType}'."),
            };
        }
    }

    private (int Status, string Json) RedeemCode(Dictionary<string, string> form)
    {
        var code = form.GetValueOrDefault("code");
        if (code is null || !_codes.TryGetValue(code, out var grant))
        {
            return Error(400, "invalid_grant", "AADSTS70000: The provided value for the 'code' parameter is not valid.");
        }

        if (grant.Redeemed)
        {
            return Error(400, "invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
        }

        if (!string.Equals(form.GetValueOrDefault("redirect_uri"), grant.RedirectUri, StringComparison.Ordinal))
        {
            return Error(400, "invalid_grant", "AADSTS50011: The redirect URI specified in the request does not match the redirect URI of the authorization request.");
        }

        var verifier = form.GetValueOrDefault("code_verifier");
        if (verifier is null || !string.Equals(Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))), grant.CodeChallenge, StringComparison.Ordinal))
        {
            return Error(400, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.");
        }

        grant.Redeemed = true;
        // As Microsoft's v2 endpoint: the code is redeemed for the scope the request names (else the authorize
        // request's), and an access token serves one resource: the first one named.
        var requested = form.GetValueOrDefault("scope") is { Length: > 0 } asked ? asked : grant.Scope;
        return Success(IssueTokens(grant.User, grant.ClientId, OneResource(requested)));
    }

    private (int Status, string Json) Refresh(Dictionary<string, string> form)
    {
        if (_refreshFailures.TryDequeue(out var failure))
        {
            return Error(failure.Status, failure.Error, failure.Description);
        }

        var refreshToken = form.GetValueOrDefault("refresh_token");
        if (refreshToken is not null && RefuseReplay(refreshToken) is { } replayed)
        {
            return replayed;
        }

        if (refreshToken is null
            || !_refreshTokens.TryGetValue(refreshToken, out var issued)
            || issued.Revoked
            || !string.Equals(issued.ClientId, form.GetValueOrDefault("client_id"), StringComparison.Ordinal))
        {
            return Error(400, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.");
        }

        if (InvalidateRotatedRefreshTokens)
        {
            issued.Revoked = true;
        }

        var scope = form.GetValueOrDefault("scope") is { Length: > 0 } requested ? requested : issued.Scope;
        var tokens = IssueTokens(issued.User, issued.ClientId, scope);
        NoteRotation(refreshToken, tokens.RefreshToken);
        return Success(tokens);
    }

    /// <summary>The scope's non-resource scopes and those of its first resource (the part before the last '/').</summary>
    private static string OneResource(string scope)
    {
        var scopes = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        static string? ResourceOf(string s) => s.LastIndexOf('/') is var slash and > 8 ? s[..slash] : null;
        var first = scopes.Select(ResourceOf).FirstOrDefault(r => r is not null);
        return string.Join(' ', scopes.Where(s => ResourceOf(s) is not { } resource || string.Equals(resource, first, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>The scope an access token issued here was granted (resource scopes only), or null when it was not issued here.</summary>
    public string? ScopeOf(string accessToken)
    {
        lock (_gate)
        {
            return _accessTokens.TryGetValue(accessToken, out var token) ? token.Scope : null;
        }
    }

    private FakeTokenSet IssueTokens(string user, string clientId, string requestedScope)
    {
        var now = Clock();
        var scopes = requestedScope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var grantedScope = string.Join(' ', scopes.Where(scope => !NonResourceScopes.Contains(scope, StringComparer.OrdinalIgnoreCase)));
        var accessToken = NewAccessToken(user, clientId, grantedScope);
        _accessTokens[accessToken] = new FakeIssuedToken(user, clientId, grantedScope, now + AccessTokenLifetime);
        string? refreshToken = null;
        if (scopes.Contains("offline_access", StringComparer.OrdinalIgnoreCase))
        {
            refreshToken = NewOpaque("fake-rt-");
            _refreshTokens[refreshToken] = new FakeIssuedToken(user, clientId, requestedScope, now.AddDays(90));
        }

        return new FakeTokenSet(accessToken, refreshToken, (int)AccessTokenLifetime.TotalSeconds, grantedScope) { IdToken = IdTokenFor(user, clientId, scopes) };
    }

    private static (int Status, string Json) Success(FakeTokenSet tokens)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("token_type", "Bearer");
            writer.WriteString("scope", tokens.Scope);
            writer.WriteNumber("expires_in", tokens.ExpiresIn);
            writer.WriteNumber("ext_expires_in", tokens.ExpiresIn);
            writer.WriteString("access_token", tokens.AccessToken);
            if (tokens.RefreshToken is not null)
            {
                writer.WriteString("refresh_token", tokens.RefreshToken);
            }

            if (tokens.IdToken is not null)
            {
                writer.WriteString("id_token", tokens.IdToken);
            }

            writer.WriteEndObject();
        }

        return (200, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private (int Status, string Json) Error(int status, string error, string description)
    {
        var traceId = Guid.NewGuid().ToString();
        var correlationId = Guid.NewGuid().ToString();
        var timestamp = Clock().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'");
        var codes = new List<int>();
        if (description.StartsWith("AADSTS", StringComparison.Ordinal))
        {
            var digits = new string([.. description.Skip(6).TakeWhile(char.IsAsciiDigit)]);
            if (int.TryParse(digits, out var code))
            {
                codes.Add(code);
            }
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            writer.WriteString("error_description", $"{description} Trace ID: {traceId} Correlation ID: {correlationId} Timestamp: {timestamp}");
            writer.WriteStartArray("error_codes");
            foreach (var code in codes)
            {
                writer.WriteNumberValue(code);
            }

            writer.WriteEndArray();
            writer.WriteString("timestamp", timestamp);
            writer.WriteString("trace_id", traceId);
            writer.WriteString("correlation_id", correlationId);
            writer.WriteEndObject();
        }

        return (status, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string NewOpaque(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
