using System.Net;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// Password guessing against an account with a password_hash, through the real proxy: the checks
/// run off the sockets' threads, so a logged-in session keeps being served; a wrong password and an
/// unknown login name read the same; the log tells which.
/// </summary>
public sealed class GuessingTests
{
    private const string RightPassword = "right-Pa55word";
    private const string WrongCredentials = "Wrong login name or password";

    /// <summary>The test-only hook of the proxy (Accounts/FileGatedKeyDerivation.cs): every password check waits until this file exists.</summary>
    private const string BlockPasswordChecks = "EMAILPROXY_TEST_BLOCK_PASSWORD_CHECKS";

    private const int Guessers = 4;

    [Fact]
    public async Task Guessing_EveryPasswordCheckBlocked_LoggedInSessionAnswersNoopAndRememberedPasswordLogsIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await WriteHashedConfigAsync(env);
        var release = Path.Combine(env.Directory, "release-password-checks");
        await File.WriteAllTextAsync(release, "");
        var proxy = await env.StartProxyAsync(new Dictionary<string, string?> { [BlockPasswordChecks] = release });
        // A stray setting of the test-only hook cannot go unnoticed: the proxy warns at start.
        await proxy.WaitForLineAsync(line => line.Contains($"{BlockPasswordChecks} is set (a test-only hook)", StringComparison.Ordinal));
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        // Check 1 passes (the file exists) and the proxy remembers the right password.
        await using var loggedIn = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account, RightPassword);
        File.Delete(release);

        var guessers = new List<LineClient>();
        for (var i = 0; i < Guessers; i++)
        {
            var guesser = await LineClient.ConnectAsync(env.ImapPort);
            await guesser.ReadLineAsync();
            await guesser.WriteAsync(i == 0 ? "g LOGIN stranger@example.com guess\r\n" : $"g LOGIN {TestEnvironment.Account} guess{i}\r\n");
            guessers.Add(guesser);
        }
        // The proxy runs as many checks at once as half the cores (1 to 4), and at most 2 of one client
        // address (all guessers are on 127.0.0.1; the others wait in the address's line): wait until they are all blocked.
        var blocked = Math.Min(Math.Min(Guessers, 2), Math.Clamp(Environment.ProcessorCount / 2, 1, 4));
        await proxy.WaitForLineAsync(line => line.Contains($"{BlockPasswordChecks}: password check {1 + blocked} waits", StringComparison.Ordinal));

        for (var i = 0; i < 5; i++)
        {
            await loggedIn.WriteAsync($"n{i} NOOP\r\n");
            Assert.StartsWith($"n{i} OK", await loggedIn.ReadUntilAsync(l => l.StartsWith($"n{i} ", StringComparison.Ordinal)), StringComparison.Ordinal);
        }
        // A known client on another host logs in with its remembered password while every check is
        // held (on the guessers' own address it would wait in their line: their share of the pool).
        await using (var again = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account, RightPassword, IPAddress.Parse("127.0.0.2")))
        {
            await again.WriteAsync("a NOOP\r\n");
            Assert.StartsWith("a OK", await again.ReadUntilAsync(l => l.StartsWith("a ", StringComparison.Ordinal)), StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(release, "");
        foreach (var guesser in guessers)
        {
            Assert.StartsWith($"g NO [AUTHENTICATIONFAILED] {WrongCredentials}", await guesser.ReadLineAsync(), StringComparison.Ordinal);
            await guesser.DisposeAsync();
        }
        await proxy.WaitForLineAsync(line => line.Contains("There is no account 'stranger@example.com'", StringComparison.Ordinal));
        await proxy.WaitForLineAsync(line => line.Contains($"Wrong password for account {TestEnvironment.Account}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Guessing_FourClientsWithRealChecks_LoggedInSessionKeepsAnsweringNoop()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await WriteHashedConfigAsync(env);
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        await using var loggedIn = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account, RightPassword);

        var answers = new List<string>();
        var guessing = Task.WhenAll(Enumerable.Range(0, Guessers).Select(async i =>
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                await using var guesser = await LineClient.ConnectAsync(env.ImapPort);
                await guesser.ReadLineAsync();
                await guesser.WriteAsync($"g LOGIN {TestEnvironment.Account} guess{i}-{attempt}\r\n");
                var answer = await guesser.ReadLineAsync() ?? "(closed)";
                lock (answers)
                {
                    answers.Add(answer);
                }
            }
        }));

        var noops = 0;
        while (!guessing.IsCompleted || noops == 0)
        {
            await loggedIn.WriteAsync($"n{noops} NOOP\r\n");
            Assert.StartsWith($"n{noops} OK", await loggedIn.ReadUntilAsync(l => l.StartsWith($"n{noops} ", StringComparison.Ordinal)), StringComparison.Ordinal);
            noops++;
        }
        await guessing;

        Assert.Equal(Guessers * 2, answers.Count);
        Assert.All(answers, answer => Assert.StartsWith($"g NO [AUTHENTICATIONFAILED] {WrongCredentials}", answer, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_UnknownNameWhereAPasswordHashIsSet_ReadsLikeAWrongPasswordAndTheLogSaysWhich()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await WriteHashedConfigAsync(env);
        var proxy = await env.StartProxyAsync();

        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync("a1 LOGIN stranger@example.com guess\r\n");
        var unknown = await client.ReadLineAsync();
        await client.WriteAsync($"a2 LOGIN {TestEnvironment.Account} guess\r\n");
        var wrong = await client.ReadLineAsync();

        Assert.StartsWith($"a1 NO [AUTHENTICATIONFAILED] {WrongCredentials}", unknown, StringComparison.Ordinal);
        Assert.Equal(unknown![2..], wrong![2..]);
        Assert.DoesNotContain("stranger", unknown, StringComparison.Ordinal);
        await proxy.WaitForLineAsync(line => line.Contains("There is no account 'stranger@example.com'", StringComparison.Ordinal));
        await proxy.WaitForLineAsync(line => line.Contains($"Wrong password for account {TestEnvironment.Account}", StringComparison.Ordinal));
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    private static async Task WriteHashedConfigAsync(TestEnvironment env)
    {
        var hash = await ProxyProcess.HashPasswordAsync(RightPassword);
        env.WriteConfig(transform: text => text.Replace("server = fake", $"server = fake\npassword_hash = {hash}", StringComparison.Ordinal));
    }
}
