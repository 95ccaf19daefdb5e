using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EmailProxy.Tests.Accounts;

public sealed class LoginServiceTests : IDisposable
{
    private static readonly IPAddress Guesser = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress User = IPAddress.Parse("192.0.2.20");

    /// <summary>No pop_host: a login that passes the password check ends at once with "has no pop_host", without any network.</summary>
    private static readonly ServerOptions ImapOnly = new("outlook.office365.com") { ImapHost = "outlook.office365.com", SmtpHost = "smtp.office365.com" };

    private readonly TempDirectory _temp = new();
    private readonly TimerWatchingTimeProvider _time = new();
    private readonly BlockingKeyDerivation _derivation = new(blocks: false);

    [Fact]
    public async Task LoginAsync_Pop3WithoutPopHost_NamesThePopHostKey()
    {
        var logins = Logins(TestAccounts.Create());

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", "any", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.Unavailable, outcome.Failure);
        Assert.Contains("has no pop_host", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pop3_host", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_UnknownNameAndWrongPasswordWhereHashesAreSet_ReadTheSameToTheClientButNotInTheLog()
    {
        var logins = Logins(Hashed());

        var unknown = await FailedLoginAsync(logins, "stranger@example.com", "guess", Guesser);
        var wrong = await FailedLoginAsync(logins, "sales@example.com", "guess", Guesser);

        Assert.Equal(LoginService.WrongCredentials, unknown.Message);
        Assert.Equal(wrong.Message, unknown.Message);
        Assert.Equal(wrong.IsTemporary, unknown.IsTemporary);
        Assert.Contains("There is no account 'stranger@example.com'", unknown.LogReason, StringComparison.Ordinal);
        Assert.Contains("Wrong password for account sales@example.com", wrong.LogReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_UnknownNameWhereHashesAreSet_CostsADerivationAndIsThrottledByAddress()
    {
        var logins = Logins(Hashed());

        await FailedLoginAsync(logins, "stranger@example.com", "guess", Guesser);
        var timers = _time.TimersCreated;
        var second = logins.LoginAsync(SessionHarness.Pop3(), "other@example.com", "guess", Guesser, CancellationToken.None);
        await _time.WhenTimersCreatedAsync(timers + 1);

        Assert.False(second.IsCompleted, "the second check from one address waits for its turn");
        Assert.Equal(1, _derivation.Started);
        _time.Advance(LoginThrottle.FirstDelay);
        Assert.Equal(LoginService.WrongCredentials, (await second.Guarded()).Message);
        Assert.Equal(2, _derivation.Started);
    }

    [Fact]
    public async Task LoginAsync_UnknownNameWithoutAnyHash_NamesTheSectionToAddAtOnce()
    {
        var logins = Logins(TestAccounts.Create());

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "stranger@example.com", "x", Guesser, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.UnknownAccount, outcome.Failure);
        Assert.StartsWith("There is no account 'stranger@example.com' in the proxy's configuration: add an [account stranger@example.com] section", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(0, _derivation.Started);
        Assert.Equal(0, _time.TimersCreated);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LoginAsync_LoginNameWithCrLf_NoLineBreakInTheAnswerOrTheLog(bool hashes)
    {
        var logins = Logins(hashes ? Hashed() : TestAccounts.Create());

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "x\r\n* OK [ALERT] forged\r", "guess", Guesser, CancellationToken.None).Guarded();

        Assert.DoesNotContain('\r', outcome.Message);
        Assert.DoesNotContain('\n', outcome.Message);
        Assert.DoesNotContain('\r', outcome.LogReason);
        Assert.DoesNotContain('\n', outcome.LogReason);
    }

    [Theory]
    [InlineData("guess")]
    [InlineData(BlockingKeyDerivation.RightPassword)]
    public async Task LoginAsync_AfterAFailureFromTheAddress_NextCheckRightOrWrongWaitsBeforeItRuns(string password)
    {
        var logins = Logins(Hashed());
        await FailedLoginAsync(logins, "sales@example.com", "first", Guesser);
        var timers = _time.TimersCreated;

        var pending = logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", password, Guesser, CancellationToken.None);
        await _time.WhenTimersCreatedAsync(timers + 1);

        // Nothing is checked, so nothing is answered, before the turn: hanging up early tells nothing.
        Assert.False(pending.IsCompleted);
        Assert.Equal(1, _derivation.Started);
        _time.Advance(LoginThrottle.FirstDelay);
        await pending.Guarded();
        Assert.Equal(2, _derivation.Started);
    }

    [Fact]
    public async Task LoginAsync_BurstFromACleanAddress_CheckedTwoAtATimeThenOnePerTurn()
    {
        var logins = Logins(Hashed());
        var timers = _time.TimersCreated;

        var burst = Enumerable.Range(0, 10)
            .Select(i => logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", $"guess{i}", Guesser, CancellationToken.None)).ToList();
        await _time.WhenTimersCreatedAsync(timers + 1);

        // At most the address's share of the pool (two) ran at once, from a clean slate; the next
        // waits its turn, reckoned from their failures, and the others wait for the share.
        Assert.InRange(_derivation.Started, 1, KeyDerivationPool.MaxPerAddress);
        var outcomes = new List<LoginOutcome>();
        while (burst.Count(t => t.IsCompleted) < burst.Count)
        {
            timers = _time.TimersCreated;
            _time.Advance(LoginThrottle.MaxAddressWait);
            await Task.WhenAny(Task.WhenAll(burst), _time.WhenTimersCreatedAsync(timers + 1)).Guarded();
        }
        outcomes.AddRange(await Task.WhenAll(burst).Guarded());
        Assert.All(outcomes, o => Assert.False(o.Succeeded));
    }

    [Fact]
    public async Task LoginAsync_RightPasswordAfterGuessesFromElsewhere_WaitsAtMostTheNamesDelayNotTheGuessersLine()
    {
        var logins = Logins(Hashed());
        for (var i = 0; i < 5; i++)
        {
            await FailedLoginAsync(logins, "sales@example.com", "guess" + i, Guesser);
        }
        var timers = _time.TimersCreated;

        var pending = logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", BlockingKeyDerivation.RightPassword, User, CancellationToken.None);
        await _time.WhenTimersCreatedAsync(timers + 1);
        _time.Advance(LoginThrottle.MaxDelay);

        Assert.Contains("has no pop_host", (await pending.Guarded()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_AddressWhoseLineIsTooLong_RefusedForNowWithoutACheck()
    {
        var throttle = new LoginThrottle(_time);
        var logins = Logins(Hashed(), throttle: throttle);
        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure(null, Guesser);
        }
        while (throttle.Turn(null, Guesser) is not null)
        {
        }

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", BlockingKeyDerivation.RightPassword, Guesser, CancellationToken.None).Guarded();

        Assert.Equal(LoginService.TooManyFailures, outcome.Message);
        Assert.True(outcome.IsTemporary);
        Assert.Equal(0, _derivation.Started);
    }

    [Fact]
    public async Task LoginAsync_EveryDerivationSlotAndTheLineTaken_TemporaryBusyAnswer()
    {
        var blocking = new BlockingKeyDerivation();
        var logins = Logins(Hashed(), new PasswordVerifier(blocking, new KeyDerivationPool(slots: 1, maxWaiting: 1)));
        var running = logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", "guess", Guesser, CancellationToken.None);
        var waiting = logins.LoginAsync(SessionHarness.Pop3(), "stranger@example.com", "guess", Guesser, CancellationToken.None);
        await blocking.WhenStartedAsync(1);

        var refused = await logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", "guess", User, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.Unavailable, refused.Failure);
        Assert.True(refused.IsTemporary);
        Assert.Equal(LoginService.Busy, refused.Message);
        Assert.False(running.IsCompleted);
        blocking.Release();
        Assert.Equal(LoginService.WrongCredentials, (await running.Guarded()).Message);
        Assert.Equal(LoginService.WrongCredentials, (await waiting.Guarded()).Message);
    }

    [Fact]
    public async Task LoginAsync_BlockingDerivation_ReturnsToTheCallerAtOnce()
    {
        var blocking = new BlockingKeyDerivation();
        var logins = Logins(Hashed(), new PasswordVerifier(blocking, new KeyDerivationPool()));

        var pending = logins.LoginAsync(SessionHarness.Pop3(), "sales@example.com", "guess", Guesser, CancellationToken.None);

        Assert.Equal(0, blocking.Finished);
        Assert.False(pending.IsCompleted, "the caller's thread came back while the derivation is blocked");
        blocking.Release();
        await pending.Guarded();
        Assert.False(blocking.RanOnThreadPool);
    }

    [Fact]
    public async Task LoginAsync_UnknownNameWithHashesOfDifferentStrengths_CheckedAgainstTheStrongest()
    {
        var weak = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions { IterationCount = 1000 })).HashPassword(new object(), "weak");
        var strong = PasswordVerifier.Hash("strong");
        var derivation = new HashRecordingDerivation();
        var logins = Logins(
            [TestAccounts.Create("weak@example.com") with { PasswordHash = weak }, TestAccounts.Create("strong@example.com") with { PasswordHash = strong }],
            new PasswordVerifier(derivation, new KeyDerivationPool()));

        await FailedLoginAsync(logins, "stranger@example.com", "guess", Guesser);

        Assert.Equal([strong], derivation.Hashes);
        Assert.Equal(1000, PasswordVerifier.IterationsOf(weak));
        Assert.True(PasswordVerifier.IterationsOf(strong) > 1000);
    }

    /// <summary>A login expected to fail; the fake clock is moved on whenever it waits for its turn.</summary>
    private async Task<LoginOutcome> FailedLoginAsync(LoginService logins, string name, string password, IPAddress address)
    {
        var timers = _time.TimersCreated;
        var pending = logins.LoginAsync(SessionHarness.Pop3(), name, password, address, CancellationToken.None);
        while (await Task.WhenAny(pending, _time.WhenTimersCreatedAsync(timers + 1)).Guarded() != pending)
        {
            timers = _time.TimersCreated;
            _time.Advance(LoginThrottle.MaxAddressWait);
        }
        var outcome = await pending.Guarded();
        Assert.False(outcome.Succeeded);
        return outcome;
    }

    private static AccountOptions Hashed() => TestAccounts.Create() with { PasswordHash = PasswordVerifier.Hash(BlockingKeyDerivation.RightPassword) };

    private LoginService Logins(AccountOptions account, PasswordVerifier? passwords = null, LoginThrottle? throttle = null) => Logins([account], passwords, throttle);

    private LoginService Logins(AccountOptions[] accounts, PasswordVerifier? passwords = null, LoginThrottle? throttle = null)
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase) { [ImapOnly.Name] = ImapOnly },
            accounts.ToDictionary(a => a.Name, StringComparer.OrdinalIgnoreCase));
        var time = TimeProvider.System;
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance), time, NullLogger<TokenService>.Instance);
        return new LoginService(new LiveConfig(config), passwords ?? new PasswordVerifier(_derivation, new KeyDerivationPool()), throttle ?? new LoginThrottle(_time), tokens,
            new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Matches nothing; remembers which hashes it was asked to check against.</summary>
    private sealed class HashRecordingDerivation : IKeyDerivation
    {
        private readonly List<string> _hashes = [];

        public IReadOnlyList<string> Hashes
        {
            get
            {
                lock (_hashes)
                {
                    return [.. _hashes];
                }
            }
        }

        public bool Matches(string passwordHash, string password)
        {
            lock (_hashes)
            {
                _hashes.Add(passwordHash);
            }
            return false;
        }
    }
}
