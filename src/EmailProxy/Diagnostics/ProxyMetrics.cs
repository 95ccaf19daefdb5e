using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;

namespace EmailProxy.Diagnostics;

/// <summary>
/// The proxy's one <see cref="System.Diagnostics.Metrics.Meter"/> (<see cref="MeterName"/>) and its
/// instruments: sessions, logins, token requests, upstream timings, relayed bytes and each account's
/// token state. <see cref="PrometheusExport"/> publishes them on <c>/metrics</c>; any
/// <see cref="MeterListener"/> (dotnet-counters, a test) can read them too. Instrument names carry
/// their unit where Prometheus wants it (<c>…seconds</c>, <c>…bytes</c>); the exporter prefixes the
/// meter's name (<c>logins</c> is <c>emailproxy_logins</c>).
/// </summary>
/// <remarks>
/// Every label value comes from a short fixed list (protocols, outcomes, grants, directions) or from
/// the configuration (account and server names): never a client's address, nor a login name a client
/// typed, nor a provider's free text (only the <c>AADSTS</c> number is taken from it). So the series
/// are bounded by the configuration, whatever clients and providers send. Recording is a few
/// field reads and an add: the relay counts once per chunk it copies, never per byte.
/// </remarks>
internal sealed partial class ProxyMetrics
{
    public const string MeterName = "EmailProxy";

    /// <summary>The label value where a token request's error carries no AADSTS code (or succeeded).</summary>
    public const string NoAadsts = "none";

    /// <summary>The <c>grant</c> label of the four token requests.</summary>
    public const string AuthorizationCodeGrant = "authorization_code";
    public const string RefreshTokenGrant = "refresh_token";
    public const string DeviceCodeGrant = "device_code";
    public const string ClientCredentialsGrant = "client_credentials";

    /// <summary>OAuth2 error codes (RFC 6749 5.2, RFC 8628 3.5, OpenID Connect) kept as the <c>result</c> label; any other error is <c>error</c>.</summary>
    private static readonly HashSet<string> KnownErrors = new(StringComparer.Ordinal)
    {
        "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
        "authorization_pending", "slow_down", "access_denied", "expired_token", "interaction_required", "consent_required",
        "login_required", "server_error", "temporarily_unavailable", "invalid_response",
    };

    private readonly Counter<long> _sessionsOpened;
    private readonly Counter<long> _sessionsEnded;
    private readonly UpDownCounter<long> _sessionsOpen;
    private readonly Counter<long> _logins;
    private readonly Counter<long> _tokenRequests;
    private readonly Histogram<double> _tokenRequestDuration;
    private readonly Histogram<double> _upstreamConnectDuration;
    private readonly Histogram<double> _upstreamTlsDuration;
    private readonly Histogram<double> _upstreamAuthDuration;
    private readonly Counter<long> _relayedBytes;

    /// <summary>The sessions open now per protocol, readable (the status page's), kept beside <see cref="_sessionsOpen"/>: at most one entry per protocol.</summary>
    private readonly ConcurrentDictionary<string, StrongBox<long>> _openNow = new(StringComparer.Ordinal);

    public ProxyMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _sessionsOpened = Meter.CreateCounter<long>("sessions.opened", "{session}", "Mail client sessions accepted, by protocol");
        _sessionsEnded = Meter.CreateCounter<long>("sessions.ended", "{session}", "Mail client sessions ended, by protocol and how they ended");
        _sessionsOpen = Meter.CreateUpDownCounter<long>("sessions.open", "{session}", "Mail client sessions open now, by protocol");
        _logins = Meter.CreateCounter<long>("logins", "{login}", "Client logins, by protocol and outcome");
        _tokenRequests = Meter.CreateCounter<long>("token.requests", "{request}", "Token endpoint requests, by grant, result and AADSTS code");
        _tokenRequestDuration = Meter.CreateHistogram<double>("token.request.seconds", "s", "How long token endpoint requests took, by grant");
        _upstreamConnectDuration = Meter.CreateHistogram<double>("upstream.connect.seconds", "s", "How long TCP connects to upstream servers took, by [server] section");
        _upstreamTlsDuration = Meter.CreateHistogram<double>("upstream.tls.seconds", "s", "How long TLS handshakes with upstream servers took, by [server] section");
        _upstreamAuthDuration = Meter.CreateHistogram<double>("upstream.auth.seconds", "s",
            "How long upstream logins took from the connect to the XOAUTH2 answer, by protocol, [server] section and result");
        _relayedBytes = Meter.CreateCounter<long>("relay.bytes", "By", "Bytes relayed after login, by protocol and direction");
    }

    /// <summary>The meter every instrument belongs to (created by, and disposed with, the <see cref="IMeterFactory"/>).</summary>
    public Meter Meter { get; }

    /// <summary>The histograms' instruments measured in seconds (the exporter gives them buckets up to the longest time limits).</summary>
    public bool IsDurationInSeconds(Instrument instrument) =>
        instrument.Meter == Meter && instrument is Histogram<double> && instrument.Unit == "s";

    public void SessionOpened(string protocol)
    {
        var tag = Protocol(protocol);
        _sessionsOpened.Add(1, tag);
        _sessionsOpen.Add(1, tag);
        Interlocked.Increment(ref _openNow.GetOrAdd(protocol, static _ => new StrongBox<long>()).Value);
    }

    /// <param name="outcome">One of <see cref="SessionOutcome"/>'s values.</param>
    public void SessionEnded(string protocol, string outcome)
    {
        var tag = Protocol(protocol);
        _sessionsOpen.Add(-1, tag);
        _sessionsEnded.Add(1, tag, new("outcome", outcome));
        Interlocked.Decrement(ref _openNow.GetOrAdd(protocol, static _ => new StrongBox<long>()).Value);
    }

    /// <summary>The sessions open now, per protocol that has had one since the start (for the status page).</summary>
    public IReadOnlyDictionary<string, long> OpenSessions() =>
        _openNow.ToDictionary(pair => pair.Key, pair => Interlocked.Read(ref pair.Value.Value), StringComparer.Ordinal);

    public void Login(string protocol, LoginFailure failure) => _logins.Add(1, Protocol(protocol), new("outcome", LoginOutcomeOf(failure)));

    /// <summary>One token endpoint request: its grant, result (<see cref="TokenResultOf"/>) and AADSTS code (<see cref="AadstsCodeOf"/>), and how long it took.</summary>
    public void TokenRequest(string grant, TokenEndpointResult result, TimeSpan duration)
    {
        var grantTag = new KeyValuePair<string, object?>("grant", grant);
        _tokenRequests.Add(1, grantTag, new("result", TokenResultOf(result)), new("aadsts", AadstsCodeOf(result.ErrorDescription)));
        _tokenRequestDuration.Record(duration.TotalSeconds, grantTag);
    }

    public void UpstreamConnect(string server, TimeSpan duration) => _upstreamConnectDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("server", server));

    public void UpstreamTls(string server, TimeSpan duration) => _upstreamTlsDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("server", server));

    /// <param name="result"><c>ok</c>, <c>refused</c> (the server said no) or <c>unavailable</c> (no answer, broken, not the protocol).</param>
    public void UpstreamAuth(string protocol, string server, string result, TimeSpan duration) =>
        _upstreamAuthDuration.Record(duration.TotalSeconds, Protocol(protocol), new("server", server), new("result", result));

    /// <summary>The relay's byte counts for one session of <paramref name="protocol"/>: one add per copied chunk.</summary>
    public RelayByteCounter RelayBytes(string protocol) => new(_relayedBytes, protocol);

    /// <summary>
    /// Observable gauges for each account configured at the time (a reload changes the list), read from <paramref name="snapshot"/> when an
    /// exporter collects: seconds until the access token expires (negative once it has), whether the
    /// account is signed in (1 or 0), and the refresh token's age in seconds (since it was issued or
    /// last rotated; what to alert on well before Microsoft's 90-day inactivity limit). An account whose
    /// tokens are not loaded yet (null snapshot), or that has no such token, gives no value.
    /// <paramref name="snapshot"/> must be cheap: no lock, no I/O (<see cref="TokenService.Peek"/>).
    /// </summary>
    public void ObserveAccounts(Func<IEnumerable<AccountOptions>> accounts, Func<AccountOptions, TokenSnapshot?> snapshot, TimeProvider time)
    {
        IEnumerable<Measurement<T>> Each<T>(Func<TokenSnapshot, DateTimeOffset, T?> value) where T : struct
        {
            var now = time.GetUtcNow();
            foreach (var account in accounts())
            {
                if (snapshot(account) is { } current && value(current, now) is { } measured)
                {
                    yield return new Measurement<T>(measured, new KeyValuePair<string, object?>("account", account.Name));
                }
            }
        }
        Meter.CreateObservableGauge("access_token.expires_in.seconds", () => Each<double>((s, now) => s.AccessToken is null ? null : (s.ExpiresAt - now).TotalSeconds),
            "s", "Seconds until each account's access token expires (negative once it has)");
        Meter.CreateObservableGauge("account.signed_in", () => Each<int>((s, _) => s.SignedIn ? 1 : 0),
            "{account}", "1 when the account is signed in (has tokens and needs no new sign-in), else 0");
        Meter.CreateObservableGauge("refresh_token.age.seconds", () => Each<double>((s, now) => s.RefreshToken is null || s.RotatedAt is not { } rotated ? null : (now - rotated).TotalSeconds),
            "s", "Seconds since each account's refresh token was issued or rotated");
    }

    /// <summary>
    /// The <c>outcome</c> label of a login. A login name that is no account counts as <c>bad_password</c>:
    /// where passwords are checked the client is told the same for both, and a metric must not tell them apart either.
    /// </summary>
    public static string LoginOutcomeOf(LoginFailure failure) => failure switch
    {
        LoginFailure.None => "ok",
        LoginFailure.SignInRequired => "sign_in_needed",
        LoginFailure.Rejected => "upstream_refused",
        LoginFailure.Unavailable or LoginFailure.TokenUnavailable => "unavailable",
        LoginFailure.WrongPassword or LoginFailure.UnknownAccount => "bad_password",
        _ => "unavailable",
    };

    /// <summary>
    /// The <c>result</c> label of a token request: <c>ok</c>; the OAuth2 error code when it is a
    /// standard one (<c>invalid_grant</c>, <c>authorization_pending</c>…, also when an HTTP error
    /// carried it); <c>unavailable</c> when the endpoint did not answer; else <c>error</c>.
    /// </summary>
    public static string TokenResultOf(TokenEndpointResult result)
    {
        if (!result.IsError)
        {
            return "ok";
        }
        var error = result.Error!;
        var paren = error.IndexOf(" (HTTP ", StringComparison.Ordinal);
        var code = paren < 0 ? error : error[..paren];
        if (KnownErrors.Contains(code))
        {
            return code;
        }
        return error.StartsWith("the token endpoint did not answer", StringComparison.Ordinal) ? "unavailable" : "error";
    }

    /// <summary>The first <c>AADSTS</c> code of a Microsoft error description (<c>AADSTS70000</c>), or <see cref="NoAadsts"/>.</summary>
    public static string AadstsCodeOf(string? description) =>
        description is not null && AadstsPattern().Match(description) is { Success: true } match ? match.Value : NoAadsts;

    private static KeyValuePair<string, object?> Protocol(string protocol) => new("protocol", protocol);

    [GeneratedRegex(@"\bAADSTS\d{1,9}\b", RegexOptions.CultureInvariant)]
    private static partial Regex AadstsPattern();
}
