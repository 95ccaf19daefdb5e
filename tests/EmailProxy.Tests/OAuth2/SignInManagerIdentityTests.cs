using System.Net;
using System.Text.Json.Nodes;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.OAuth2;

/// <summary>The identity check where every sign-in ends (<c>SignInManager.FinishAsync</c>): a refusal keeps nothing; an acceptance records who signed in.</summary>
public sealed class SignInManagerIdentityTests : IDisposable
{
    private const string Refusal =
        "signed in as bob@example.com, but this account is sales@example.com: sign in again as sales@example.com, "
        + "or add `allow_identity = bob@example.com` to [account sales@example.com] if bob may use it";

    private readonly OAuth2Fixture _fx = new();
    private readonly RecordingLoggerProvider _log = new();
    private readonly TokenService _tokens;
    private readonly SignInManager _signIns;

    public SignInManagerIdentityTests()
    {
        _tokens = _fx.NewService();
        _signIns = new SignInManager(_fx.Config, _fx.Client, _tokens, _fx.Time, _log.CreateLogger<SignInManager>());
    }

    public void Dispose()
    {
        _log.Dispose();
        _fx.Dispose();
    }

    private void AnswerAs(string user) =>
        _fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.Json(HttpStatusCode.OK,
            $"{{\"access_token\":\"opaque-access\",\"refresh_token\":\"the-refresh\",\"expires_in\":3600,\"token_type\":\"Bearer\",\"id_token\":\"{TestJwt.Create(new { preferred_username = user })}\"}}");

    [Fact]
    public async Task CompleteAsync_SignedInAsSomeoneElse_RefusesKeepsNoTokenAndSaysWhy()
    {
        AnswerAs("bob@example.com");
        var pending = _signIns.StartOrJoin(_fx.Account);

        var result = await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.False(result.Succeeded);
        Assert.Equal(Refusal, result.Message);
        Assert.Equal("bob@example.com", result.Identity);
        Assert.Equal(Refusal, (await pending.Completion.Guarded()).Message);
        Assert.False(File.Exists(_fx.NewStore().PathFor(_fx.Account.Name)), "no token file is written");
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).Kind);
        var line = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(Refusal, line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Lines, l => l.Contains("tokens saved", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CompleteAsync_RefusedThenTheRightPerson_AcceptedAndTheFileNamesThem()
    {
        AnswerAs("bob@example.com");
        var first = _signIns.StartOrJoin(_fx.Account);
        Assert.False((await _signIns.CompleteAsync(first.State, "code-1", null, null).Guarded()).Succeeded);

        AnswerAs("Sales@Example.com");
        var second = _signIns.StartOrJoin(_fx.Account);
        var result = await _signIns.CompleteAsync(second.State, "code-2", null, null).Guarded();

        Assert.NotSame(first, second);
        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("Sales@Example.com", result.Identity);
        Assert.Contains("as Sales@Example.com", result.Message, StringComparison.Ordinal);
        var file = JsonNode.Parse(await File.ReadAllTextAsync(_fx.NewStore().PathFor(_fx.Account.Name)))!;
        Assert.Equal("Sales@Example.com", (string?)file["identity"]);
        Assert.Equal("opaque-access", (await _tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded()).AccessToken);
    }

    [Fact]
    public async Task CompleteAsync_DelegateInAllowIdentity_Accepted()
    {
        var account = _fx.Account with { AllowIdentity = ["bob@example.com"] };
        var signIns = new SignInManager(_fx.ConfigWith([account]), _fx.Client, _tokens, _fx.Time, _log.CreateLogger<SignInManager>());
        AnswerAs("bob@example.com");
        var pending = signIns.StartOrJoin(account);

        var result = await signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("bob@example.com", result.Identity);
    }

    [Fact]
    public async Task StartOrJoin_ThenRedeem_AsksForIdentityScopesAndRedeemsWithoutScope()
    {
        AnswerAs("sales@example.com");
        var pending = _signIns.StartOrJoin(_fx.Account);
        var scope = QueryHelpers.ParseQuery(pending.AuthorizeUrl!.Query)["scope"].ToString();

        await _signIns.CompleteAsync(pending.State, "the-code", null, null).Guarded();

        Assert.Equal(["openid", "profile", "email"], scope.Split(' ')[^3..]);
        Assert.False(Assert.Single(_fx.Endpoint.Forms).ContainsKey("scope"));
    }
}
