using System.Net;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary>
/// App-only accounts (flow = client_credentials): a new access token by a client-credentials request when a
/// login needs one (one request however many wait), renewed before expiry by the background worker, saved
/// without a refresh token; a refusal is a failure with the fix, never a sign-in.
/// </summary>
public sealed class ClientCredentialsTokenTests : IDisposable
{
    private const string Secret = "the-secret-value";

    private readonly OAuth2Fixture _fx = new();

    private readonly AccountOptions _app;

    public ClientCredentialsTokenTests() =>
        _app = _fx.Account with { Flow = OAuthFlow.ClientCredentials, ClientSecret = Secret, Scope = "https://outlook.office365.com/.default" };

    public void Dispose() => _fx.Dispose();

    private Task<TokenOutcome> GetAsync(TokenService service) => service.GetAccessTokenAsync(_app, CancellationToken.None).Guarded();

    private static HttpResponseMessage Refusal(string code, string text) => StubTokenEndpoint.Json(
        HttpStatusCode.Unauthorized,
        $"{{\"error\":\"invalid_client\",\"error_description\":\"{code}: {text}\\r\\nTrace ID: x\\r\\nCorrelation ID: y\",\"error_codes\":[1]}}");

    [Fact]
    public async Task ForgetAsync_WhileAnAppTokenRequestIsUnderWay_ItsAnswerIsNotSaved()
    {
        // tokens clear must not be followed by a token file from a request that was already on its way.
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);
        var service = _fx.NewService();
        var login = service.GetAccessTokenAsync(_app, CancellationToken.None);
        await _fx.Endpoint.FirstRequest.Task.Guarded();

        await service.ForgetAsync(_app, CancellationToken.None).Guarded();
        _fx.Endpoint.Hold.SetResult();
        var outcome = await login.Guarded();

        Assert.NotEqual(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Null(await _fx.NewStore().LoadAsync(_app, CancellationToken.None));
        // The next login asks again.
        Assert.Equal("app-2", (await GetAsync(service)).AccessToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_NoTokenYet_OneClientCredentialsRequestSavedWithoutRefreshToken()
    {
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);
        var service = _fx.NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("app-1", outcome.AccessToken);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("client_credentials", form["grant_type"]);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(Secret, form["client_secret"]);
        Assert.Equal("https://outlook.office365.com/.default", form["scope"]);
        Assert.False(form.ContainsKey("client_assertion"));
        var saved = await _fx.NewStore().LoadAsync(_app, CancellationToken.None);
        Assert.NotNull(saved);
        Assert.Equal("app-1", saved.AccessToken);
        Assert.Null(saved.RefreshToken);
        Assert.Null(saved.Identity);
    }

    [Fact]
    public async Task GetAccessTokenAsync_FourMinutesLeft_RenewsOnceAndKeepsTheNewToken()
    {
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);
        var service = _fx.NewService();
        Assert.Equal("app-1", (await GetAsync(service)).AccessToken);

        _fx.Time.Advance(TimeSpan.FromMinutes(54));
        Assert.Equal("app-1", (await GetAsync(service)).AccessToken);
        _fx.Time.Advance(TimeSpan.FromMinutes(2));
        var renewed = await GetAsync(service);
        var again = await GetAsync(service);

        Assert.Equal("app-2", renewed.AccessToken);
        Assert.Equal("app-2", again.AccessToken);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_HundredWaitingLogins_OneRequestSameToken()
    {
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var service = _fx.NewService();

        var calls = Enumerable.Range(0, 100).Select(_ => service.GetAccessTokenAsync(_app, CancellationToken.None)).ToArray();
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        _fx.Endpoint.Hold.SetResult();
        var outcomes = await Task.WhenAll(calls).Guarded();

        Assert.Equal(1, _fx.Endpoint.RequestCount);
        Assert.All(outcomes, o => Assert.Equal("app-1", o.AccessToken));
    }

    [Fact]
    public async Task GetAccessTokenAsync_Refused_FailedWithTheFixNeverASignIn()
    {
        _fx.Endpoint.Respond = (_, _) => Refusal("AADSTS7000215", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID");
        var service = _fx.NewService();

        var outcome = await GetAsync(service);

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("AADSTS7000215", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("secret's Value", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("not its Secret ID", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, outcome.Message, StringComparison.Ordinal);
        var described = await service.SnapshotAsync(_app, CancellationToken.None).Guarded();
        Assert.Null(described.SignInReason);
    }

    [Fact]
    public async Task GetAccessTokenAsync_RefusedWhileTheOldTokenIsStillValid_OldTokenUsed()
    {
        _fx.Endpoint.Respond = (n, _) => n == 1 ? StubTokenEndpoint.Token("app-1", null) : Refusal("AADSTS7000222", "The provided client secret keys are expired.");
        var service = _fx.NewService();
        await GetAsync(service);
        _fx.Time.Advance(TimeSpan.FromMinutes(57));

        var outcome = await GetAsync(service);

        Assert.Equal("app-1", outcome.AccessToken);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task GetAccessTokenAsync_CertificateAccount_SendsASignedAssertionAndNoSecret()
    {
        var pair = TestClientCertificate.Create(_fx.Temp);
        var app = _app with { ClientCertificate = pair.CertificatePath, ClientKey = pair.KeyPath };
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);

        var outcome = await _fx.NewService().GetAccessTokenAsync(app, CancellationToken.None).Guarded();

        Assert.Equal("app-1", outcome.AccessToken);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        Assert.Equal(app.TokenUrl!.AbsoluteUri, Assert.Single(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(form["client_assertion"]).Audiences));
        Assert.False(form.ContainsKey("client_secret"));
    }

    [Fact]
    public async Task GetAccessTokenAsync_CertificateKeyGoneSinceStart_FailedNamingTheFileNoRequest()
    {
        var pair = TestClientCertificate.Create(_fx.Temp);
        var app = _app with { ClientCertificate = pair.CertificatePath, ClientKey = pair.KeyPath };
        File.Delete(pair.KeyPath);

        var outcome = await _fx.NewService().GetAccessTokenAsync(app, CancellationToken.None).Guarded();

        Assert.Equal(TokenOutcomeKind.Failed, outcome.Kind);
        Assert.Contains($"client_key: the file {pair.KeyPath} does not exist", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_AppTokenThatWouldExpireBeforeTheNextRound_RenewedBeforeALoginNeedsIt()
    {
        _fx.Endpoint.Respond = (n, _) => StubTokenEndpoint.Token($"app-{n}", null);
        var service = _fx.NewService();
        var worker = new TokenRefreshWorker(new LiveConfig(_fx.ConfigWith([_app])), service, _fx.Time, NullLogger<TokenRefreshWorker>.Instance);
        await GetAsync(service);

        _fx.Time.Advance(TimeSpan.FromMinutes(45));
        await worker.RunOnceAsync(CancellationToken.None).Guarded();
        Assert.Equal(1, _fx.Endpoint.RequestCount);
        _fx.Time.Advance(TimeSpan.FromMinutes(5));
        await worker.RunOnceAsync(CancellationToken.None).Guarded();

        Assert.Equal(2, _fx.Endpoint.RequestCount);
        Assert.Equal("app-2", (await GetAsync(service)).AccessToken);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RunOnceAsync_AppAccountWithoutAToken_NoRequestUntilALogin()
    {
        var worker = new TokenRefreshWorker(new LiveConfig(_fx.ConfigWith([_app])), _fx.NewService(), _fx.Time, NullLogger<TokenRefreshWorker>.Instance);

        await worker.RunOnceAsync(CancellationToken.None).Guarded();

        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }
}
