using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Xunit;

namespace EmailProxy.Tests.Redis;

/// <summary>
/// The token service on a shared store, with a real Redis and replicas in one process (<see cref="SharedTokensFixture"/>):
/// a rotated refresh token is never sent twice, whatever Redis does meanwhile; what one replica learns the others know.
/// </summary>
public sealed class SharedTokenServiceTests : IAsyncLifetime
{
    /// <summary>Less than the 5-minute refresh margin left of the hour the signed-in access token lasts: due for a refresh.</summary>
    private static readonly TimeSpan UntilDue = TimeSpan.FromMinutes(58);

    private SharedTokensFixture _shared = null!;

    private AccountOptions Account => _shared.Fx.Account;

    public async Task InitializeAsync() => _shared = await SharedTokensFixture.StartAsync();

    public async Task DisposeAsync() => await _shared.DisposeAsync();

    [Fact]
    public async Task GetAccessTokenAsync_RefreshRefusedOnOneOfThree_OneRequestOthersToldToSignInRecordKeepsIdentityAndHash()
    {
        var replicas = new[] { await _shared.NewReplicaAsync(), await _shared.NewReplicaAsync(), await _shared.NewReplicaAsync() };
        await _shared.SignInAsync(replicas[0], passwordHash: "the-hash");
        foreach (var replica in replicas)
        {
            Assert.Equal("access-0", (await replica.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).AccessToken);
        }
        _shared.Fx.Endpoint.Respond = (_, _) => StubTokenEndpoint.InvalidGrant();
        _shared.Fx.Time.Advance(UntilDue);

        var outcomes = new List<TokenOutcome>();
        foreach (var replica in replicas)
        {
            outcomes.Add(await replica.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded());
        }

        Assert.Equal(1, _shared.Fx.Endpoint.RequestCount);
        Assert.All(outcomes, outcome => Assert.Equal(TokenOutcomeKind.SignInRequired, outcome.Kind));
        Assert.All(outcomes, outcome => Assert.Contains("AADSTS70008", outcome.Message, StringComparison.Ordinal));
        var record = await replicas[2].Store.LoadAsync(Account, CancellationToken.None);
        Assert.NotNull(record);
        Assert.Null(record.RefreshToken);
        Assert.Null(record.AccessToken);
        Assert.Equal("someone@example.com", record.Identity);
        Assert.Equal("the-hash", record.PasswordHash);
        Assert.Contains("AADSTS70008", record.SignInReason, StringComparison.Ordinal);
        // A replica started after it knows too, without asking.
        var later = await _shared.NewReplicaAsync();
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await later.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).Kind);
        Assert.Equal(1, _shared.Fx.Endpoint.RequestCount);
    }

    [Fact]
    public async Task RedeemForScopeAsync_AnotherReplicaRotatedTheRefreshToken_UsesTheNewestUnderTheLockAndSavesItsRotation()
    {
        var a = await _shared.NewReplicaAsync();
        var b = await _shared.NewReplicaAsync();
        await _shared.SignInAsync(a);
        Assert.Equal("access-0", (await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).AccessToken);
        _shared.Fx.Time.Advance(UntilDue);
        Assert.Equal("access-1", (await a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).AccessToken);

        var graph = await b.Tokens.RedeemForScopeAsync(Account, "https://graph.microsoft.com/Mail.Send", CancellationToken.None).Guarded();

        Assert.Equal(0, _shared.Replays);
        Assert.Equal("access-2", graph.AccessToken);
        Assert.Equal(["refresh-0", "refresh-1"], _shared.Fx.Endpoint.Forms.Select(form => form["refresh_token"]));
        Assert.Equal("refresh-2", (await a.Store.LoadAsync(Account, CancellationToken.None))?.RefreshToken);
        // And A, whose memory holds refresh-1, takes refresh-2 from the store at its next refresh instead of replaying.
        _shared.Fx.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("access-3", (await a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None).Guarded()).AccessToken);
        Assert.Equal(0, _shared.Replays);
    }

    [Fact]
    public async Task ForgetCached_NoticesOfARefreshThenOfAClear_GraphTokensDroppedForTheClearOnly()
    {
        var a = await _shared.NewReplicaAsync();
        var b = await _shared.NewReplicaAsync(hearChanges: true);
        await _shared.SignInAsync(a);
        // The sign-in's own notice is heard first (it raises the event too), before the handler below is attached.
        await _shared.Heard.WaitForAsync(e => e.Message.Contains("(signedin)", StringComparison.Ordinal)).Guarded();
        Assert.Equal("access-0", (await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).AccessToken);
        var forgotten = new List<string>();
        var cleared = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Tokens.TokensForgotten += name =>
        {
            lock (forgotten)
            {
                forgotten.Add(name);
            }
            cleared.TrySetResult();
        };
        _shared.Fx.Time.Advance(UntilDue);

        Assert.Equal("access-1", (await a.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).AccessToken);
        await _shared.Heard.WaitForAsync(e => e.Message.Contains("(refreshed)", StringComparison.Ordinal)).Guarded();
        lock (forgotten)
        {
            Assert.Empty(forgotten);
        }
        await a.Tokens.ForgetAsync(Account, CancellationToken.None);
        // One channel: the refresh's notice came before the clear's.
        await cleared.Task.Guarded();

        Assert.Equal([Account.Name], forgotten);
        Assert.Equal(TokenOutcomeKind.SignInRequired, (await b.Tokens.GetAccessTokenAsync(Account, CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task DeleteAsync_ThenSignedInAgain_VersionNeverComesBackAndNoRecordIsNoRecord()
    {
        var a = await _shared.NewReplicaAsync();
        await _shared.SignInAsync(a);
        var (_, signedIn) = await a.Store.LoadVersionedAsync(Account, CancellationToken.None);

        Assert.True(await a.Store.DeleteAsync(Account.Name, CancellationToken.None));
        var (none, cleared) = await a.Store.LoadVersionedAsync(Account, CancellationToken.None);
        var listedWhileCleared = await a.Store.ReadAllAsync(CancellationToken.None);
        var namesWhileCleared = await a.Store.StoredAccountNamesAsync(CancellationToken.None);
        Assert.False(await a.Store.DeleteAsync(Account.Name, CancellationToken.None));
        await _shared.SignInAsync(a, accessToken: "access-new", refreshToken: "refresh-new");
        var (_, signedInAgain) = await a.Store.LoadVersionedAsync(Account, CancellationToken.None);

        Assert.Null(none);
        Assert.True(cleared > signedIn, $"{cleared} after {signedIn}");
        Assert.True(signedInAgain > cleared, $"{signedInAgain} after {cleared}");
        Assert.Empty(listedWhileCleared);
        Assert.Empty(namesWhileCleared);
        Assert.Equal([Account.Name], await a.Store.StoredAccountNamesAsync(CancellationToken.None));
        // tokens migrate adds a record only where there is none: after a clear there is none.
        var record = (await a.Store.ReadRecordAsync(Account.Name, CancellationToken.None))!;
        Assert.True(await a.Store.DeleteAsync(Account.Name, CancellationToken.None));
        Assert.True(await RedisTokenStore.TryAddRecordAsync(a.Connection, Account.Name, record, CancellationToken.None));
        Assert.False(await RedisTokenStore.TryAddRecordAsync(a.Connection, Account.Name, record, CancellationToken.None));
        Assert.Equal("refresh-new", (await a.Store.LoadAsync(Account, CancellationToken.None))?.RefreshToken);
    }

    [Fact]
    public async Task GetAccessTokenAsync_AppOnlyTokenAskedForOnAnotherReplica_TakenFromTheStoreNotAskedAgain()
    {
        var app = Account with { Flow = OAuthFlow.ClientCredentials, ClientSecret = "the-secret", Scope = "https://outlook.office365.com/.default" };
        var a = await _shared.NewReplicaAsync();
        var b = await _shared.NewReplicaAsync();
        // B has read the store already (nothing there), then A gets the app's token.
        Assert.Null((await b.Tokens.SnapshotAsync(app, CancellationToken.None)).AccessToken);
        var onA = await a.Tokens.GetAccessTokenAsync(app, CancellationToken.None);

        var onB = await b.Tokens.GetAccessTokenAsync(app, CancellationToken.None).Guarded();

        Assert.Equal("access-1", onA.AccessToken);
        Assert.Equal("access-1", onB.AccessToken);
        Assert.Equal(1, _shared.Fx.Endpoint.RequestCount);
    }

    [Theory]
    [InlineData("Refreshed", "refreshed")]
    [InlineData("SignedIn", "signedin")]
    [InlineData("Cleared", "cleared")]
    [InlineData("Refused", "refused")]
    public void Parse_MessageOfEachChange_ReadsItBack(string name, string word)
    {
        var change = Enum.Parse<TokenChange>(name);
        var text = RedisTokenChanges.Message("instance-1", change, "sales@example.com");

        Assert.Equal($"instance-1\n{word}\nsales@example.com", text);
        Assert.Equal(("instance-1", (TokenChange?)change, "sales@example.com"), RedisTokenChanges.Parse(text));
    }

    [Fact]
    public void Parse_OlderMessageWithoutTheChange_ReadAsAChangeOfUnknownKind()
    {
        Assert.Equal(("instance-1", (TokenChange?)null, "sales@example.com"), RedisTokenChanges.Parse("instance-1\nsales@example.com"));
        Assert.Null(RedisTokenChanges.Parse("no-account"));
    }
}
