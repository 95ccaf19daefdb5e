using System.IO.Pipelines;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Accounts;

/// <summary>
/// Guessers against an account with a password_hash, in real IMAP sessions over in-memory pipes,
/// with a derivation that blocks until the test releases it: the other sessions are still served.
/// </summary>
public sealed class PasswordGuessingSessionTests : IDisposable
{
    private const int Slots = 2;

    private readonly TempDirectory _temp = new();
    private readonly TimerWatchingTimeProvider _throttleTime = new();
    private readonly BlockingKeyDerivation _derivation = new();

    [Fact]
    public async Task LoginAsync_EveryDerivationSlotBlocked_OtherSessionsNoopAnsweredAndExtraLoginGetsUnavailable()
    {
        var environment = Environment(new KeyDerivationPool(Slots, maxWaiting: 0));
        var guessers = new List<(Task Session, IDuplexPipe Client)>();
        for (var i = 0; i < Slots; i++)
        {
            var guesser = Start(environment);
            await Line(guesser.Client);
            await SessionHarness.WriteAsync(guesser.Client.Output, $"g{i} LOGIN sales@example.com guess{i}\r\n");
            guessers.Add(guesser);
        }
        await _derivation.WhenStartedAsync(Slots);

        var (other, otherClient) = Start(environment);
        Assert.StartsWith("* OK", await Line(otherClient), StringComparison.Ordinal);
        await SessionHarness.WriteAsync(otherClient.Output, "n1 NOOP\r\n");
        Assert.Equal("n1 OK NOOP completed", await Line(otherClient));
        await SessionHarness.WriteAsync(otherClient.Output, "x1 LOGIN sales@example.com guess\r\n");
        Assert.Equal($"x1 NO [UNAVAILABLE] {LoginService.Busy}", await Line(otherClient));
        await SessionHarness.WriteAsync(otherClient.Output, "n2 NOOP\r\n");
        Assert.Equal("n2 OK NOOP completed", await Line(otherClient));
        Assert.Equal(Slots, _derivation.MaxRunning);

        _derivation.Release();
        for (var i = 0; i < Slots; i++)
        {
            Assert.Equal($"g{i} NO [AUTHENTICATIONFAILED] {LoginService.WrongCredentials}", await Line(guessers[i].Client));
        }
        foreach (var (session, client) in guessers.Append((other, otherClient)))
        {
            await SessionHarness.WriteAsync(client.Output, "z LOGOUT\r\n");
            await client.Output.CompleteAsync();
            await session.Guarded();
        }
        Assert.False(_derivation.RanOnThreadPool);
    }

    private static Task<string> Line(IDuplexPipe client) => SessionHarness.ReadLineAsync(client.Input);

    private static (Task Session, IDuplexPipe Client) Start(SessionEnvironment environment)
    {
        var (connection, client) = SessionHarness.Connect();
        var session = new ImapSession(connection, environment, SessionHarness.Imap(), NullLogger.Instance);
        // On the thread pool, as Kestrel runs a connection: a session must never hold the test's thread.
        return (Task.Run(session.RunAsync), client);
    }

    private SessionEnvironment Environment(KeyDerivationPool pool)
    {
        var account = TestAccounts.Create() with { PasswordHash = PasswordVerifier.Hash(BlockingKeyDerivation.RightPassword) };
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions { LocalTls = LocalTlsMode.Off },
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [account.Name] = account });
        var time = TimeProvider.System;
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance), time, NullLogger<TokenService>.Instance);
        var logins = new LoginService(new LiveConfig(config), new PasswordVerifier(_derivation, pool), new LoginThrottle(_throttleTime), tokens,
            new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
        return new SessionEnvironment(logins, new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), time);
    }

    public void Dispose()
    {
        _derivation.Release();
        _temp.Dispose();
    }
}
