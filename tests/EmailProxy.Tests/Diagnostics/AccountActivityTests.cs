using EmailProxy.Accounts;
using EmailProxy.Diagnostics;
using EmailProxy.Imap;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Diagnostics;

public sealed class AccountActivityTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Login_SuccessThenFailureOfAnotherProtocol_KeepsBothTheLoginTimeAndTheError()
    {
        var activity = new AccountActivity(_time);
        var account = TestAccounts.Create();

        activity.Login("IMAP", LoginOutcome.Success(account, null!));
        _time.Advance(TimeSpan.FromMinutes(1));
        activity.Login("SMTP", LoginOutcome.Fail(LoginFailure.Rejected, "told the client", account, logReason: "the server said no"));
        _time.Advance(TimeSpan.FromMinutes(1));
        activity.Login("IMAP", LoginOutcome.Success(account, null!));

        var entry = activity.Of("SALES@example.com");
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 12, 2, 0, TimeSpan.Zero), entry.LastLogins["IMAP"]);
        Assert.Equal("the server said no", entry.LastError);
        Assert.Equal(LoginFailure.Rejected, entry.LastFailure);
        Assert.Equal("SMTP", entry.LastErrorProtocol);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 12, 1, 0, TimeSpan.Zero), entry.LastErrorAt);
    }

    [Fact]
    public void Login_SuccessOfTheFailedProtocol_ClearsTheError()
    {
        var activity = new AccountActivity(_time);
        var account = TestAccounts.Create();

        activity.Login("SMTP", LoginOutcome.Fail(LoginFailure.SignInRequired, "needs a sign-in", account));
        activity.Login("SMTP", LoginOutcome.Success(account, null!));

        var entry = activity.Of(account.Name);
        Assert.Null(entry.LastError);
        Assert.Null(entry.LastErrorAt);
        Assert.Single(entry.LastLogins);
    }

    [Fact]
    public void Login_NameThatIsNoAccount_KeepsNothing()
    {
        var activity = new AccountActivity(_time);

        activity.Login("IMAP", LoginOutcome.Fail(LoginFailure.UnknownAccount, "no such account"));

        Assert.Same(AccountActivityEntry.None, activity.Of("anyone@example.com"));
    }

    [Fact]
    public async Task ImapSession_LoginOfAnAccountThatFails_IsRecordedWithItsProtocolAndText()
    {
        using var temp = new TempDirectory();
        var account = TestAccounts.Create();
        var activity = new AccountActivity(_time);
        using var environment = new SessionHarness(temp.Path, _time).Environment(activity: activity, account: account);
        var (connection, client) = SessionHarness.Connect();
        var session = new ImapSession(connection, environment, SessionHarness.Imap(_time), NullLogger.Instance).RunAsync();
        Assert.StartsWith("* OK", await SessionHarness.ReadLineAsync(client.Input).Guarded());

        await SessionHarness.WriteAsync(client.Output, "a1 LOGIN sales@example.com secret\r\n");
        Assert.StartsWith("a1 NO", await SessionHarness.ReadLineAsync(client.Input).Guarded());
        await client.Output.CompleteAsync();
        await session.Guarded();

        var entry = activity.Of(account.Name);
        Assert.Equal("IMAP", entry.LastErrorProtocol);
        Assert.Equal(LoginFailure.Unavailable, entry.LastFailure);
        Assert.Contains("has no imap_host", entry.LastError, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow(), entry.LastErrorAt);
    }

    [Fact]
    public void AfterLoginError_ThenAFailedLoginThenASuccess_FixKeptOnlyWithItsOwnErrorAndClearedByTheProtocolsLogin()
    {
        var activity = new AccountActivity(_time);
        var account = TestAccounts.Create();
        activity.Login("SMTP", LoginOutcome.Success(account, null!));

        activity.AfterLoginError(account.Name, "SMTP", "the server refused to send as the message's sender: 550 5.7.60", "Add-RecipientPermission …");
        var refused = activity.Of(account.Name);
        Assert.Equal("SMTP", refused.LastErrorProtocol);
        Assert.Equal("the server refused to send as the message's sender: 550 5.7.60", refused.LastError);
        Assert.Equal("Add-RecipientPermission …", refused.LastErrorFix);
        Assert.Equal(_time.GetUtcNow(), refused.LastErrorAt);
        Assert.True(refused.LastLogins.ContainsKey("SMTP"));

        activity.Login("IMAP", LoginOutcome.Fail(LoginFailure.Rejected, "no", account));
        Assert.Null(activity.Of(account.Name).LastErrorFix);

        activity.AfterLoginError(account.Name, "SMTP", "again", "fix");
        activity.Login("SMTP", LoginOutcome.Success(account, null!));
        var cleared = activity.Of(account.Name);
        Assert.Null(cleared.LastError);
        Assert.Null(cleared.LastErrorFix);
    }

    [Fact]
    public void OpenSessions_OpenedAndEnded_CountsWhatIsOpenPerProtocol()
    {
        using var meters = new TestMeterFactory();
        var metrics = new ProxyMetrics(meters);

        metrics.SessionOpened("IMAP");
        metrics.SessionOpened("IMAP");
        metrics.SessionOpened("POP3");
        metrics.SessionEnded("POP3", SessionOutcome.Relayed);

        var open = metrics.OpenSessions();
        Assert.Equal(2, open["IMAP"]);
        Assert.Equal(0, open["POP3"]);
        Assert.False(open.ContainsKey("SMTP"));
    }
}
