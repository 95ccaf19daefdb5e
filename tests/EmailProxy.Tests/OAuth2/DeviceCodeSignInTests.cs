using System.Net;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.OAuth2;

/// <summary>Device code sign-ins (RFC 8628) on a fake clock: one code per account, polling, its ends, and the proxy stopping.</summary>
public sealed class DeviceCodeSignInTests : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    private readonly DeviceCodeFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task StartOrJoinAsync_DeviceCodeAccount_AsksForACodeWithTheSignInScopeAndLogsWhereToEnterIt()
    {
        var start = _fx.Time.GetUtcNow();

        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();

        Assert.Equal(SignInMethod.DeviceCode, pending.Method);
        Assert.Equal(new Uri(DeviceCodeFixture.VerificationUri), pending.VerificationUri);
        Assert.Equal(DeviceCodeFixture.UserCode(1), pending.UserCode);
        Assert.Equal(start + TimeSpan.FromSeconds(900), pending.ExpiresAt);
        Assert.False(pending.Completion.IsCompleted);
        var form = Assert.Single(_fx.Endpoint.Forms);
        Assert.Equal(TestAccounts.ClientId, form["client_id"]);
        Assert.Equal(SignInIdentity.ScopeFor(_fx.Account), form["scope"]);
        Assert.Equal("https://login.example.test/contoso.example/oauth2/v2.0/devicecode", _fx.Account.DeviceCodeUrl!.AbsoluteUri);
        var line = Assert.Single(_fx.Log.Entries, e => e.EventId.Id == 2011);
        Assert.Equal(
            "OAuth2 sign-in needed for account sales@example.com with Microsoft: open https://microsoft.com/devicelogin and enter ABCD-EFGH (expires in 15 minutes)",
            line.Message);
        Assert.Same(pending, _fx.SignIns.Current(_fx.Account));
    }

    [Fact]
    public async Task StartOrJoinAsync_AccountSendingThroughGraph_AsksForTheMailScopesOnly()
    {
        var graph = _fx.Account with { SmtpVia = SmtpVia.Graph };

        await _fx.SignIns.StartOrJoinAsync(graph).Guarded();

        var scope = Assert.Single(_fx.Endpoint.Forms)["scope"];
        Assert.DoesNotContain("graph.microsoft.com", scope, StringComparison.Ordinal);
        Assert.Contains("openid", scope, StringComparison.Ordinal);
        Assert.Contains("graph.microsoft.com", SignInIdentity.ScopeFor(graph), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartOrJoinAsync_ConcurrentCallers_ShareOneCodeAndOneRequest()
    {
        _fx.Endpoint.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = _fx.SignIns.StartOrJoinAsync(_fx.Account);
        await _fx.Endpoint.FirstRequest.Task.Guarded();
        var second = _fx.SignIns.StartOrJoinAsync(TestAccounts.Create("SALES@example.com") with { Flow = _fx.Account.Flow, DeviceCodeUrl = _fx.Account.DeviceCodeUrl });
        var explicitly = _fx.SignIns.StartOrJoinAsync(_fx.Account, SignInMethod.DeviceCode);
        _fx.Endpoint.Hold.SetResult();
        var pendings = await Task.WhenAll(first, second, explicitly).Guarded();
        var later = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();

        Assert.All(pendings, p => Assert.Same(pendings[0], p));
        Assert.Same(pendings[0], later);
        Assert.Same(pendings[0], _fx.SignIns.StartOrJoin(_fx.Account));
        Assert.Equal(1, _fx.Authorizations);
        Assert.Single(_fx.Log.Entries, e => e.EventId.Id == 2011);
    }

    [Fact]
    public async Task Poll_EveryInterval_WaitsTheIntervalBeforeEachPollWithTheDeviceCode()
    {
        var start = _fx.Time.GetUtcNow();
        await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);

        _fx.Time.Advance(TimeSpan.FromSeconds(5) - Tick);
        Assert.Equal(0, _fx.PollCount);
        _fx.Time.Advance(Tick);
        var first = await _fx.NextPollAsync();
        await _fx.Time.WhenTimersCreatedAsync(2);
        _fx.Time.Advance(TimeSpan.FromSeconds(5) - Tick);
        Assert.Equal(1, _fx.PollCount);
        _fx.Time.Advance(Tick);
        var second = await _fx.NextPollAsync();

        Assert.Equal(start + TimeSpan.FromSeconds(5), first.At);
        Assert.Equal(start + TimeSpan.FromSeconds(10), second.At);
        Assert.Equal(DeviceCodeFixture.DeviceCodeGrant, first.Form["grant_type"]);
        Assert.Equal(DeviceCodeFixture.DeviceCode(1), first.Form["device_code"]);
        Assert.Equal(TestAccounts.ClientId, first.Form["client_id"]);
    }

    [Fact]
    public async Task Poll_SlowDown_AddsFiveSecondsToEveryLaterWait()
    {
        var start = _fx.Time.GetUtcNow();
        _fx.PollAnswers.Enqueue(() => DeviceCodeFixture.Error("slow_down", "AADSTS70016: slow down"));
        await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        await _fx.NextPollAsync();

        await _fx.Time.WhenTimersCreatedAsync(2);
        _fx.Time.Advance(TimeSpan.FromSeconds(10) - Tick);
        Assert.Equal(1, _fx.PollCount);
        _fx.Time.Advance(Tick);
        var second = await _fx.NextPollAsync();
        await _fx.Time.WhenTimersCreatedAsync(3);
        _fx.Time.Advance(TimeSpan.FromSeconds(10));
        var third = await _fx.NextPollAsync();

        Assert.Equal(start + TimeSpan.FromSeconds(15), second.At);
        Assert.Equal(start + TimeSpan.FromSeconds(25), third.At);
    }

    [Theory]
    [InlineData("authorization_declined", "AADSTS70000: The user declined the sign-in.", "the person declined the sign-in at Microsoft")]
    [InlineData("access_denied", "", "the person declined the sign-in at Microsoft")]
    [InlineData("expired_token", "AADSTS70020: This device code has expired.", "the device code expired before it was entered")]
    [InlineData("bad_verification_code", "AADSTS70019: unknown code", "Microsoft did not accept the device code")]
    [InlineData("invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", "Allow public client flows")]
    public async Task Poll_EndingAnswer_CompletesWithWhatHappenedAndThatTheNextLoginStartsANewCode(string error, string description, string said)
    {
        _fx.PollAnswers.Enqueue(() => DeviceCodeFixture.Error(error, description, error == "invalid_client" ? HttpStatusCode.Unauthorized : HttpStatusCode.BadRequest));
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));

        var completion = await pending.Completion.Guarded();

        Assert.False(completion.Succeeded);
        Assert.Contains(said, completion.Message, StringComparison.Ordinal);
        Assert.Contains(error, completion.Message, StringComparison.Ordinal);
        Assert.EndsWith("the next login starts a new code", completion.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", completion.Message, StringComparison.Ordinal);
        Assert.Equal(completion.Message, _fx.SignIns.LastFailure(_fx.Account)?.Message);
        Assert.Contains(_fx.Log.Entries, e => e.EventId.Id == 2003 && e.Message.Contains(said, StringComparison.Ordinal));
        Assert.Null(_fx.SignIns.Current(_fx.Account));
        // No more polls for an ended code; the next start asks for a new one.
        _fx.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, _fx.PollCount);
        var next = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        Assert.NotSame(pending, next);
        Assert.Equal(DeviceCodeFixture.UserCode(2), next.UserCode);
    }

    [Theory]
    [InlineData(503, "{\"error\":\"temporarily_unavailable\",\"error_description\":\"try later\"}")]
    [InlineData(500, "<html>oops</html>")]
    [InlineData(400, "{\"error\":\"temporarily_unavailable\"}")]
    [InlineData(428, "{\"error\":\"authorization_pending\"}")]
    [InlineData(403, "{\"error\":\"slow_down\"}")]
    public async Task Poll_PassingFailureOrCodeUnderAnotherStatus_GoesOnPolling(int status, string body)
    {
        // A 5xx, a provider's "try later", or Google's 428/403 for pending/slow_down must not end a 15-minute code.
        _fx.PollAnswers.Enqueue(() => StubTokenEndpoint.Json((HttpStatusCode)status, body));
        _fx.PollAnswers.Enqueue(() => StubTokenEndpoint.Token("device-access", "device-refresh"));
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        await _fx.NextPollAsync();
        Assert.False(pending.Completion.IsCompleted);

        await _fx.Time.WhenTimersCreatedAsync(2);
        _fx.Time.Advance(TimeSpan.FromSeconds(10));
        var completion = await pending.Completion.Guarded();

        Assert.True(completion.Succeeded, completion.Message);
        Assert.Equal(2, _fx.PollCount);
    }

    [Fact]
    public async Task Poll_NoAnswerAtAll_GoesOnPolling()
    {
        _fx.PollAnswers.Enqueue(() => throw new HttpRequestException("connection refused"));
        _fx.PollAnswers.Enqueue(() => StubTokenEndpoint.Token("device-access", "device-refresh"));
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));

        // The refused connection is not recorded as a poll; the next wait starting shows the code went on.
        await _fx.Time.WhenTimersCreatedAsync(2);
        Assert.False(pending.Completion.IsCompleted);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));

        Assert.True((await pending.Completion.Guarded()).Succeeded);
    }

    [Fact]
    public async Task Poll_CodeExpires_EndsWithoutAnotherPoll()
    {
        _fx.ExpiresIn = 12;
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        for (var timers = 1; timers <= 2; timers++)
        {
            await _fx.Time.WhenTimersCreatedAsync(timers);
            _fx.Time.Advance(TimeSpan.FromSeconds(5));
            await _fx.NextPollAsync();
        }
        await _fx.Time.WhenTimersCreatedAsync(3);
        _fx.Time.Advance(TimeSpan.FromSeconds(2) - Tick);
        Assert.False(pending.Completion.IsCompleted);
        _fx.Time.Advance(Tick);

        var completion = await pending.Completion.Guarded();

        Assert.False(completion.Succeeded);
        Assert.Contains("the device code expired before it was entered (it lived 12 seconds)", completion.Message, StringComparison.Ordinal);
        Assert.Equal(2, _fx.PollCount);
        _fx.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, _fx.PollCount);
        Assert.Equal(3, _fx.Time.TimersCreated);
    }

    [Fact]
    public async Task Poll_Tokens_SavedThroughTheSharedFinishAndTheLastFailureForgotten()
    {
        _fx.PollAnswers.Enqueue(() => DeviceCodeFixture.Error("authorization_declined", "AADSTS70000: declined"));
        var declined = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        await declined.Completion.Guarded();
        Assert.NotNull(_fx.SignIns.LastFailure(_fx.Account));
        _fx.PollAnswers.Enqueue(() => StubTokenEndpoint.Token("device-access", "device-refresh"));

        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(2);
        _fx.Time.Advance(TimeSpan.FromSeconds(5));
        var completion = await pending.Completion.Guarded();

        Assert.True(completion.Succeeded);
        Assert.Contains("is signed in with Microsoft", completion.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("close this window", completion.Message, StringComparison.Ordinal);
        Assert.Null(_fx.SignIns.LastFailure(_fx.Account));
        var token = await _fx.Tokens.GetAccessTokenAsync(_fx.Account, CancellationToken.None).Guarded();
        Assert.Equal("device-access", token.AccessToken);
        Assert.Contains(_fx.Log.Entries, e => e.EventId.Id == 2002);
    }

    [Fact]
    public async Task Poll_ManyPendingAnswers_LogsProgressAtMostOncePerMinuteAndNeverTheDeviceCode()
    {
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        for (var poll = 1; poll <= 30; poll++)
        {
            await _fx.Time.WhenTimersCreatedAsync(poll);
            _fx.Time.Advance(TimeSpan.FromSeconds(5));
            await _fx.NextPollAsync();
        }
        await _fx.Time.WhenTimersCreatedAsync(31);

        var progress = _fx.Log.Entries.Where(e => e.EventId.Id == 2012).Select(e => e.Message).ToList();
        Assert.Equal(
            ["Still waiting for account sales@example.com's device code: 14:00 left", "Still waiting for account sales@example.com's device code: 13:00 left"],
            progress);
        Assert.Single(_fx.Log.Entries, e => e.EventId.Id == 2011);
        Assert.DoesNotContain(_fx.Log.Lines, l => l.Contains(DeviceCodeFixture.DeviceCode(1), StringComparison.Ordinal));
        Assert.False(pending.Completion.IsCompleted);
    }

    [Fact]
    public async Task Dispose_WhilePolling_EndsTheSignInAndNoPollFollows()
    {
        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();
        await _fx.Time.WhenTimersCreatedAsync(1);

        _fx.SignIns.Dispose();
        var completion = await pending.Completion.Guarded();
        _fx.Time.Advance(TimeSpan.FromHours(1));
        var afterwards = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();

        Assert.False(completion.Succeeded);
        Assert.Contains("the proxy stopped", completion.Message, StringComparison.Ordinal);
        Assert.Equal(0, _fx.PollCount);
        Assert.True(afterwards.Completion.IsCompleted);
        Assert.Null(afterwards.UserCode);
        Assert.Equal(1, _fx.Authorizations);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StartOrJoinAsync_DeviceEndpointFails_EndedSignInWithAClearMessageNotAnException(bool unreachable)
    {
        _fx.AuthorizationAnswer = unreachable
            ? () => throw new HttpRequestException("Connection refused (login.example.test:443)")
            : () => DeviceCodeFixture.Error("invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", HttpStatusCode.Unauthorized);

        var pending = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();

        Assert.True(pending.Completion.IsCompleted);
        Assert.Null(pending.UserCode);
        var completion = await pending.Completion.Guarded();
        Assert.False(completion.Succeeded);
        Assert.StartsWith("Microsoft gave no device code for account sales@example.com: ", completion.Message, StringComparison.Ordinal);
        Assert.Contains(unreachable ? "Connection refused" : "AADSTS7000218", completion.Message, StringComparison.Ordinal);
        if (!unreachable)
        {
            Assert.Contains("Allow public client flows", completion.Message, StringComparison.Ordinal);
        }
        Assert.Equal(completion.Message, _fx.SignIns.LastFailure(_fx.Account)?.Message);
        Assert.Contains(_fx.Log.Entries, e => e.EventId.Id == 2013);
        Assert.Null(_fx.SignIns.Current(_fx.Account));
        Assert.Equal(0, _fx.Time.TimersCreated);
    }

    [Fact]
    public async Task StartOrJoin_BrowserAskedWhileADeviceCodeIsUnderWay_StartsABrowserSignInAndTheCodeGoesOn()
    {
        var device = await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded();

        var browser = _fx.SignIns.StartOrJoin(_fx.Account, SignInMethod.Browser);

        Assert.Equal(SignInMethod.Browser, browser.Method);
        Assert.NotNull(browser.AuthorizeUrl);
        Assert.False(device.Completion.IsCompleted);
        Assert.Same(browser, await _fx.SignIns.StartOrJoinAsync(_fx.Account).Guarded());
    }
}
