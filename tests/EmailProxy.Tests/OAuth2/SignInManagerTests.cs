using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.OAuth2;

public sealed class SignInManagerTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly StubTokenEndpoint _endpoint = new();
    private readonly HttpClient _http;
    private readonly AccountOptions _account = TestAccounts.Create();
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;

    public SignInManagerTests()
    {
        _http = new HttpClient(_endpoint);
        var client = new OAuthClient(_http, _time);
        var store = new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), _time, NullLogger<TokenFileStore>.Instance);
        _tokens = new TokenService(client, store, _time, NullLogger<TokenService>.Instance);
        var config = new ProxyConfig(
            _temp.Combine("emailproxy.config"),
            new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase)
            {
                ["outlook.office365.com"] = new("outlook.office365.com") { ImapHost = "outlook.office365.com" },
            },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [_account.Name] = _account });
        _signIns = new SignInManager(config, client, _tokens, _time, NullLogger<SignInManager>.Instance);
    }

    public void Dispose()
    {
        _http.Dispose();
        _temp.Dispose();
    }

    private static Dictionary<string, string> Query(Uri url) =>
        QueryHelpers.ParseQuery(url.Query).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    [Fact]
    public void StartOrJoin_AuthorizeUrl_CarriesPkceStateAndLoginHint()
    {
        var pending = _signIns.StartOrJoin(_account);

        var url = pending.AuthorizeUrl;
        Assert.Equal(_account.AuthorizeUrl!.GetLeftPart(UriPartial.Path), url.GetLeftPart(UriPartial.Path));
        var query = Query(url);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(TestAccounts.ClientId, query["client_id"]);
        Assert.Equal("http://127.0.0.1:18089", query["redirect_uri"]);
        Assert.Equal(TestAccounts.Scope, query["scope"]);
        Assert.Equal(pending.State, query["state"]);
        Assert.True(pending.State.Length >= 16);
        Assert.Equal(_account.Username, query["login_hint"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(Challenge(pending.CodeVerifier), query["code_challenge"]);
        Assert.DoesNotContain(pending.CodeVerifier, url.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), pending.ExpiresAt);
    }

    [Fact]
    public void StartOrJoin_TwiceWithinLifetime_SharesOnePendingSignIn()
    {
        var first = _signIns.StartOrJoin(_account);
        _time.Advance(TimeSpan.FromMinutes(9));

        var second = _signIns.StartOrJoin(TestAccounts.Create("SALES@example.com"));

        Assert.Same(first, second);
    }

    [Fact]
    public async Task StartOrJoin_AfterTenMinutes_MakesNewSignInAndOldStateFails()
    {
        var first = _signIns.StartOrJoin(_account);
        _time.Advance(TimeSpan.FromMinutes(10));

        var second = _signIns.StartOrJoin(_account);
        var old = await _signIns.CompleteAsync(first.State, "code", null, null).Guarded();

        Assert.NotSame(first, second);
        Assert.NotEqual(first.State, second.State);
        Assert.NotEqual(first.CodeVerifier, second.CodeVerifier);
        Assert.False(old.Succeeded);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_AfterTenMinutes_FailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_account);
        _time.Advance(TimeSpan.FromMinutes(10));

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Equal(0, _endpoint.RequestCount);
    }

    [Theory]
    [InlineData("not-the-state")]
    [InlineData("")]
    [InlineData(null)]
    public async Task CompleteAsync_UnknownState_FailsWithoutRequest(string? state)
    {
        var pending = _signIns.StartOrJoin(_account);

        var result = await _signIns.CompleteAsync(state, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Null(result.Account);
        Assert.Equal(0, _endpoint.RequestCount);
        Assert.False(pending.Completion.IsCompleted);
    }

    [Fact]
    public async Task CompleteAsync_RightState_RedeemsCodeWithVerifierAndSavesTokens()
    {
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Token("signed-in-access", "signed-in-refresh");
        var pending = _signIns.StartOrJoin(_account);
        var challenge = Query(pending.AuthorizeUrl)["code_challenge"];

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.True(result.Succeeded, result.Message);
        Assert.Same(_account, result.Account);
        var form = Assert.Single(_endpoint.Forms);
        Assert.Equal("authorization_code", form["grant_type"]);
        Assert.Equal("the-code", form["code"]);
        Assert.Equal("http://127.0.0.1:18089", form["redirect_uri"]);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(challenge, Challenge(form["code_verifier"]));
        Assert.True(await pending.Completion.Guarded());
        Assert.DoesNotContain("signed-in-access", result.Message, StringComparison.Ordinal);

        var outcome = await _tokens.GetAccessTokenAsync(_account, CancellationToken.None).Guarded();
        Assert.Equal(TokenOutcomeKind.Token, outcome.Kind);
        Assert.Equal("signed-in-access", outcome.AccessToken);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_SameStateTwice_SecondFailsWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_account);
        Assert.True((await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded()).Succeeded);

        var replay = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(replay.Succeeded);
        Assert.Equal(1, _endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_AfterInvalidGrant_SignInClearsTheNeed()
    {
        var store = new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), _time, NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(_account, new StoredTokens("a", _time.GetUtcNow().AddMinutes(-1), "r", null), CancellationToken.None);
        _endpoint.Respond = (n, _) => n == 1 ? StubTokenEndpoint.InvalidGrant() : StubTokenEndpoint.Token("fresh", "fresh-refresh");
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _tokens.GetAccessTokenAsync(_account, CancellationToken.None).Guarded()).Kind);

        var pending = _signIns.StartOrJoin(_account);
        Assert.True((await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded()).Succeeded);

        var outcome = await _tokens.GetAccessTokenAsync(_account, CancellationToken.None).Guarded();
        Assert.Equal("fresh", outcome.AccessToken);
        Assert.Equal(2, _endpoint.RequestCount);
    }

    [Fact]
    public async Task CompleteAsync_ProviderError_CompletesFalseWithoutRequest()
    {
        var pending = _signIns.StartOrJoin(_account);

        var result = await _signIns.CompleteAsync(pending.State, null, "access_denied", "AADSTS65004: User declined to consent.").Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("access_denied", result.Message, StringComparison.Ordinal);
        Assert.Contains("AADSTS65004", result.Message, StringComparison.Ordinal);
        Assert.False(await pending.Completion.Guarded());
        Assert.Equal(0, _endpoint.RequestCount);
        Assert.NotSame(pending, _signIns.StartOrJoin(_account));
    }

    [Fact]
    public async Task CompleteAsync_CodeRefused_CompletesFalseWithProviderText()
    {
        _endpoint.Respond = (_, _) => StubTokenEndpoint.Json(
            System.Net.HttpStatusCode.BadRequest,
            "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS54005: OAuth2 Authorization code was already redeemed.\\r\\nTrace ID: x\"}");
        var pending = _signIns.StartOrJoin(_account);

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Contains("AADSTS54005", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", result.Message, StringComparison.Ordinal);
        Assert.False(await pending.Completion.Guarded());
    }

    private static string Challenge(string verifier) => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
}
