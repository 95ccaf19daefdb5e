using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

public sealed class SignInManagerTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;

    public SignInManagerTests()
    {
        _tokens = _fx.NewService();
        _signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, NullLogger<SignInManager>.Instance);
    }

    public void Dispose() => _fx.Dispose();

    private static Dictionary<string, string> Query(Uri url) =>
        QueryHelpers.ParseQuery(url.Query).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    [Fact]
    public void StartOrJoin_AuthorizeUrl_CarriesPkceStateAndLoginHint()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var url = pending.AuthorizeUrl!;
        Assert.Equal(_fx.Account.AuthorizeUrl!.GetLeftPart(UriPartial.Path), url.GetLeftPart(UriPartial.Path));
        var query = Query(url);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(TestAccounts.ClientId, query["client_id"]);
        Assert.Equal("http://127.0.0.1:18089", query["redirect_uri"]);
        // The mail scopes and who signed in (the identity check).
        Assert.Equal(TestAccounts.Scope + " openid profile email", query["scope"]);
        Assert.Equal(pending.State, query["state"]);
        Assert.True(pending.State.Length >= 16);
        Assert.Equal(_fx.Account.Username, query["login_hint"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(Challenge(pending.CodeVerifier), query["code_challenge"]);
        Assert.DoesNotContain(pending.CodeVerifier, url.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(_fx.Time.GetUtcNow() + TimeSpan.FromMinutes(10), pending.ExpiresAt);
    }

    [Fact]
    public void StartOrJoin_TwiceWithinLifetime_SharesOnePendingSignIn()
    {
        var first = _signIns.StartOrJoin(_fx.Account);
        _fx.Time.Advance(TimeSpan.FromMinutes(9));

        var second = _signIns.StartOrJoin(TestAccounts.Create("SALES@example.com"));

        Assert.Same(first, second);
    }

    [Fact]
    public async Task StartOrJoin_AfterTenMinutes_MakesNewSignInAndOldStateFails()
    {
        var first = _signIns.StartOrJoin(_fx.Account);
        _fx.Time.Advance(TimeSpan.FromMinutes(10));

        var second = _signIns.StartOrJoin(_fx.Account);
        var old = await _signIns.CompleteAsync(first.State, "code", null, null).Guarded();

        Assert.NotSame(first, second);
        Assert.NotEqual(first.State, second.State);
        Assert.NotEqual(first.CodeVerifier, second.CodeVerifier);
        Assert.False(old.Succeeded);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_AfterTenMinutes_FailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);
        _fx.Time.Advance(TimeSpan.FromMinutes(10));

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Theory]
    [InlineData("not-the-state")]
    [InlineData("")]
    [InlineData(null)]
    public async Task CompleteAsync_UnknownState_FailsWithoutRequest(string? state)
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompleteAsync(state, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Null(result.Account);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.False(pending.Completion.IsCompleted);
    }

    [Fact]
    public async Task CompleteAsync_RightState_RedeemsCodeWithVerifierAndSavesTokens()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        var pending = _signIns.StartOrJoin(_fx.Account);
        var challenge = Query(pending.AuthorizeUrl!)["code_challenge"];

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.True(result.Succeeded, result.Message);
        Assert.Same(_fx.Account, result.Account);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal("authorization_code", form["grant_type"]);
        Assert.Equal("the-code", form["code"]);
        Assert.Equal("http://127.0.0.1:18089", form["redirect_uri"]);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(challenge, Challenge(form["code_verifier"]));
        Assert.True((await pending.Completion.Guarded()).Succeeded);
        Assert.DoesNotContain("signed-in-access", result.Message, StringComparison.Ordinal);

        var outcome = await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("signed-in-access", outcome.AccessToken);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_SaveFails_LogsTheFailureAndNeverTokensSaved()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        // A file where the token folder should be: the save fails (as root too, unlike a read-only folder).
        File.WriteAllText(_fx.TokenDirectory, "not a folder");
        using var log = new RecordingLoggerProvider();
        var tokens = new TokenService(_fx.Client, _fx.NewStore(), _fx.Time, log.CreateLogger<TokenService>());
        var signIns = new SignInManager(_fx.Config, _fx.Client, tokens, _fx.Time, log.CreateLogger<SignInManager>());
        var pending = signIns.StartOrJoin(_fx.Account);

        var result = await signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.Contains(log.Lines, l => l.Contains("could not be saved", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("tokens saved", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("could not be saved", result.Message, StringComparison.Ordinal);
        // Still signed in from memory, as the token service promises.
        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("signed-in-access", (await tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
    }

    [Fact]
    public async Task CompleteAsync_SaveSucceeds_LogsTokensSaved()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        using var log = new RecordingLoggerProvider();
        var signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, log.CreateLogger<SignInManager>());
        var pending = signIns.StartOrJoin(_fx.Account);

        await signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.Contains(log.Lines, l => l.Contains("tokens saved", StringComparison.Ordinal));
        Assert.True(File.Exists(_fx.NewStore().PathFor(_fx.Account.Name)));
    }

    [Fact]
    public async Task CompleteAsync_Succeeds_TheSignInIsOverBeforeItsSuccessIsLogged()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        PendingSignIn? pending = null;
        SignInManager? signIns = null;
        var underWayWhenLogged = new List<bool>();
        var logger = new CallbackLogger(eventName =>
        {
            if (eventName == "SignedIn")
            {
                // What the status page or a waiting login sees at the moment the log says "succeeded".
                underWayWhenLogged.Add(!pending!.Completion.IsCompleted || signIns!.Current(_fx.Account) is not null);
            }
        });
        signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, logger);
        pending = signIns.StartOrJoin(_fx.Account);

        await signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.Equal([false], underWayWhenLogged);
    }

    /// <summary>A logger that runs a callback with each entry's event name as it is logged, on the logging thread.</summary>
    private sealed class CallbackLogger(Action<string?> onLog) : Microsoft.Extensions.Logging.ILogger<SignInManager>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            onLog(eventId.Name);
    }

    [Fact]
    public async Task CompleteAsync_ErrorWithLineBreaksInTheQuery_NoForgedLogLineOrPageLine()
    {
        using var log = new RecordingLoggerProvider();
        var signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, log.CreateLogger<SignInManager>());
        var pending = signIns.StartOrJoin(_fx.Account);

        var result = await signIns.CompleteAsync(pending.State, null, "access_denied\r\nfake: line", "no\nthanks\u202E").Guarded();

        Assert.False(result.Succeeded);
        Assert.All(log.Lines, l => Assert.DoesNotContain('\n', l));
        Assert.Contains(log.Lines, l => l.Contains("access_denied?fake: line: no?thanks?", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', result.Message);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_SameStateTwice_SecondFailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);
        Assert.True((await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded()).Succeeded);

        var replay = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(replay.Succeeded);
        Assert.Equal(1, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_AfterInvalidGrant_SignInClearsTheNeed()
    {
        await _fx.SeedAsync("a", TimeSpan.FromMinutes(-1), "r", rotatedNow: false);
        _fx.Endpoint.Respond = (n, _) => n == 1 ? StubTokenEndpoint.InvalidGrant() : StubTokenEndpoint.Token("fresh", "fresh-refresh");
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);

        var pending = _signIns.StartOrJoin(_fx.Account);
        Assert.True((await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded()).Succeeded);

        var outcome = await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.Equal("fresh", outcome.AccessToken);
        Assert.Equal(2, _fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_ProviderError_CompletesFalseWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompleteAsync(pending.State, null, "access_denied", "AADSTS65004: User declined to consent.").Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("access_denied", result.Message, StringComparison.Ordinal);
        Assert.Contains("AADSTS65004", result.Message, StringComparison.Ordinal);
        Assert.False((await pending.Completion.Guarded()).Succeeded);
        Assert.Equal(0, _fx.Endpoint.RequestCount);
        Assert.NotSame(pending, _signIns.StartOrJoin(_fx.Account));
    }

    [Fact]
    public async Task CompleteAsync_CodeRefused_CompletesFalseWithProviderText()
    {
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(
            System.Net.HttpStatusCode.BadRequest,
            "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS54005: OAuth2 Authorization code was already redeemed.\\r\\nTrace ID: x\"}");
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("AADSTS54005", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", result.Message, StringComparison.Ordinal);
        Assert.False((await pending.Completion.Guarded()).Succeeded);
    }

    private static string Challenge(string verifier) => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
}
