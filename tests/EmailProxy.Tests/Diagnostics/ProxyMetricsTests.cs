using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.Imap;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Diagnostics;

/// <summary>The instruments of <see cref="ProxyMetrics"/>, read back with a <see cref="MeterListener"/> on the test's own meter.</summary>
public sealed class ProxyMetricsTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly ProxyMetrics _metrics;
    private readonly MetricRecorder _recorder;

    public ProxyMetricsTests()
    {
        _metrics = new ProxyMetrics(_meters);
        _recorder = new MetricRecorder(_metrics.Meter);
    }

    [Theory]
    [InlineData(nameof(LoginFailure.None), "ok")]
    [InlineData(nameof(LoginFailure.SignInRequired), "sign_in_needed")]
    [InlineData(nameof(LoginFailure.Rejected), "upstream_refused")]
    [InlineData(nameof(LoginFailure.Unavailable), "unavailable")]
    [InlineData(nameof(LoginFailure.TokenUnavailable), "unavailable")]
    [InlineData(nameof(LoginFailure.WrongPassword), "bad_password")]
    [InlineData(nameof(LoginFailure.UnknownAccount), "bad_password")]
    public void Login_EachFailure_CountsOneWithProtocolAndOutcome(string failure, string outcome)
    {
        _metrics.Login("IMAP", Enum.Parse<LoginFailure>(failure));

        var measurement = Assert.Single(_recorder.Of("logins"));
        Assert.Equal(1, measurement.Value);
        Assert.True(measurement.HasTags(("protocol", "IMAP"), ("outcome", outcome)), string.Join(",", measurement.Tags));
    }

    [Fact]
    public void SessionOpenedThenEnded_CountsBothAndOpenReturnsToZero()
    {
        _metrics.SessionOpened("SMTP");
        _metrics.SessionOpened("SMTP");
        _metrics.SessionEnded("SMTP", SessionOutcome.Relayed);

        Assert.Equal(2, _recorder.Sum("sessions.opened", ("protocol", "SMTP")));
        Assert.Equal(1, _recorder.Sum("sessions.open", ("protocol", "SMTP")));
        Assert.Equal(1, _recorder.Sum("sessions.ended", ("protocol", "SMTP"), ("outcome", "relayed")));
    }

    [Theory]
    [InlineData("AADSTS70008: The refresh token has expired due to inactivity.", "AADSTS70008")]
    [InlineData("The user or administrator has not consented. AADSTS65001 and more", "AADSTS65001")]
    [InlineData("AADSTS50076: first; AADSTS50079: second", "AADSTS50076")]
    [InlineData("no code here", ProxyMetrics.NoAadsts)]
    [InlineData("XAADSTS70008 is not one", ProxyMetrics.NoAadsts)]
    [InlineData("AADSTS: no number", ProxyMetrics.NoAadsts)]
    [InlineData("", ProxyMetrics.NoAadsts)]
    [InlineData(null, ProxyMetrics.NoAadsts)]
    public void AadstsCodeOf_Description_ReturnsTheFirstCodeOrNone(string? description, string expected) =>
        Assert.Equal(expected, ProxyMetrics.AadstsCodeOf(description));

    [Theory]
    [InlineData(null, "ok")]
    [InlineData("invalid_grant", "invalid_grant")]
    [InlineData("authorization_pending", "authorization_pending")]
    [InlineData("temporarily_unavailable (HTTP 503)", "temporarily_unavailable")]
    [InlineData("the token endpoint did not answer", "unavailable")]
    [InlineData("HTTP 502 Bad Gateway", "error")]
    [InlineData("some_provider_invention", "error")]
    public void TokenResultOf_Error_ReturnsABoundedResult(string? error, string expected)
    {
        var result = error is null
            ? new TokenEndpointResult { AccessToken = "a", ExpiresAt = DateTimeOffset.UnixEpoch }
            : new TokenEndpointResult { Error = error, ErrorDescription = "words" };

        Assert.Equal(expected, ProxyMetrics.TokenResultOf(result));
    }

    [Fact]
    public async Task RefreshAsync_ProviderRefuses_CountsRefreshTokenInvalidGrantWithItsAadstsCode()
    {
        using var fx = new OAuth2Fixture();
        fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var client = new OAuthClient(fx.Http, fx.Time, _metrics);

        var result = await client.RefreshAsync(fx.Account, "old-refresh", CancellationToken.None).Guarded();

        Assert.True(result.IsInvalidGrant);
        var counted = Assert.Single(_recorder.Of("token.requests"));
        Assert.True(counted.HasTags(("grant", "refresh_token"), ("result", "invalid_grant"), ("aadsts", "AADSTS70008")), string.Join(",", counted.Tags));
        var timed = Assert.Single(_recorder.Of("token.request.seconds"));
        Assert.True(timed.HasTags(("grant", "refresh_token")));
    }

    [Fact]
    public async Task RedeemCodeAsync_Succeeds_CountsAuthorizationCodeOkWithoutAadsts()
    {
        using var fx = new OAuth2Fixture();
        var client = new OAuthClient(fx.Http, fx.Time, _metrics);

        await client.RedeemCodeAsync(fx.Account, "code", "verifier", "http://127.0.0.1:18089", CancellationToken.None).Guarded();

        Assert.Equal(1, _recorder.Sum("token.requests", ("grant", "authorization_code"), ("result", "ok"), ("aadsts", "none")));
    }

    [Fact]
    public async Task ObserveAccounts_SignedInAndNotLoaded_GaugesOnlyTheLoadedAccountByItsConfiguredName()
    {
        using var fx = new OAuth2Fixture();
        var other = TestAccounts.Create("other@example.com");
        await fx.SeedAsync("access", TimeSpan.FromMinutes(50));
        var tokens = fx.NewService();
        _metrics.ObserveAccounts(() => [fx.Account, other], account => tokens.Peek(account.Name), fx.Time);

        _recorder.CollectObservables();
        Assert.Empty(_recorder.Measurements);

        // A login loads the account's tokens; 40 minutes later the gauges show what is held then (nothing refreshes unasked).
        await tokens.GetAccessTokenAsync(fx.Account, CancellationToken.None).Guarded();
        fx.Time.Advance(TimeSpan.FromMinutes(40));
        _recorder.CollectObservables();

        var account = ("account", fx.Account.Name);
        Assert.Equal(600, _recorder.Sum("access_token.expires_in.seconds", account));
        Assert.Equal(1, _recorder.Sum("account.signed_in", account));
        Assert.Equal(2400, _recorder.Sum("refresh_token.age.seconds", account));
        Assert.All(_recorder.Measurements, m => Assert.True(m.HasTags(account)));
    }

    [Fact]
    public async Task ObserveAccounts_RefreshRefused_SignedInZeroAndNoAccessTokenExpiry()
    {
        using var fx = new OAuth2Fixture();
        await fx.SeedAsync("access", TimeSpan.FromMinutes(1));
        fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        var tokens = fx.NewService();
        _metrics.ObserveAccounts(() => [fx.Account], account => tokens.Peek(account.Name), fx.Time);

        await tokens.GetAccessTokenAsync(fx.Account, CancellationToken.None).Guarded();
        _recorder.CollectObservables();

        Assert.Equal(0, Assert.Single(_recorder.Of("account.signed_in")).Value);
        Assert.Empty(_recorder.Of("access_token.expires_in.seconds"));
    }

    [Fact]
    public async Task ImapSession_UnknownAccountThenClose_CountsTheLoginAndASessionEndedLoginFailed()
    {
        using var temp = new TempDirectory();
        using var environment = new SessionHarness(temp.Path, TimeProvider.System).Environment(_metrics);
        var (connection, client) = SessionHarness.Connect();
        var session = new ImapSession(connection, environment, SessionHarness.Imap(), NullLogger.Instance).RunAsync();
        Assert.StartsWith("* OK", await SessionHarness.ReadLineAsync(client.Input));

        await SessionHarness.WriteAsync(client.Output, "a1 LOGIN stranger@example.com secret\r\n");
        Assert.StartsWith("a1 NO", await SessionHarness.ReadLineAsync(client.Input));
        await client.Output.CompleteAsync();
        await session.Guarded();

        Assert.Equal(1, _recorder.Sum("logins", ("protocol", "IMAP"), ("outcome", "bad_password")));
        Assert.Equal(1, _recorder.Sum("sessions.opened", ("protocol", "IMAP")));
        Assert.Equal(1, _recorder.Sum("sessions.ended", ("protocol", "IMAP"), ("outcome", "login_failed")));
        Assert.Equal(0, _recorder.Sum("sessions.open", ("protocol", "IMAP")));
        // Never the login name the client typed, nor its address.
        Assert.DoesNotContain(_recorder.Measurements, m => m.Tags.Values.Any(v => v is not null && (v.Contains("stranger", StringComparison.Ordinal) || IPAddress.TryParse(v, out _))));
    }

    [Fact]
    public async Task ImapSession_ClosedBeforeLogin_CountsSessionEndedClosed()
    {
        using var temp = new TempDirectory();
        using var environment = new SessionHarness(temp.Path, TimeProvider.System).Environment(_metrics);
        var (connection, client) = SessionHarness.Connect();
        var session = new ImapSession(connection, environment, SessionHarness.Imap(), NullLogger.Instance).RunAsync();

        await client.Output.CompleteAsync();
        await session.Guarded();

        Assert.Equal(1, _recorder.Sum("sessions.ended", ("protocol", "IMAP"), ("outcome", "closed")));
        Assert.Empty(_recorder.Of("logins"));
    }

    public void Dispose()
    {
        _recorder.Dispose();
        _meters.Dispose();
    }
}
