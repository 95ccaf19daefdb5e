using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Accounts;

/// <summary>Logins of accounts made from templates (their own password) and of shared mailboxes (token_from), no network.</summary>
public sealed class TemplateLoginTests : IDisposable
{
    /// <summary>No pop_host: a login that gets past the password and the token ends with "has no pop_host", without any network.</summary>
    private static readonly ServerOptions ImapOnly = new("outlook.office365.com") { ImapHost = "outlook.office365.com" };

    private static readonly TokenEndpointResult Tokens = new() { AccessToken = "access", RefreshToken = "refresh", ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };

    private readonly TempDirectory _temp = new();
    private readonly TimerWatchingTimeProvider _time = new();
    private readonly BlockingKeyDerivation _derivation = new(blocks: false);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task LoginAsync_TemplateAccountBeforeItsFirstSignIn_AnyPasswordOnlyStartsTheSignIn()
    {
        var (logins, config, _) = Build(maxAccounts: 5);

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "alice@example.org", BlockingKeyDerivation.RightPassword, null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.SignInRequired, outcome.Failure);
        Assert.StartsWith("Account alice@example.org needs an OAuth2 sign-in with Microsoft (its first sign-in, whose last page shows the password", outcome.Message, StringComparison.Ordinal);
        Assert.Equal("*@example.org", outcome.Account!.Template);
        Assert.Equal(0, _derivation.Started);
        Assert.NotNull(config.FindAccount("alice@example.org"));
    }

    [Fact]
    public async Task LoginAsync_TemplateAccountWithItsPasswordStored_NeedsThatPassword()
    {
        var (logins, config, tokens) = Build(maxAccounts: 5);
        var alice = config.ResolveAccount("alice@example.org", DateTimeOffset.UtcNow).Account!;
        await tokens.AcceptSignInAsync(alice, Tokens, CancellationToken.None, alice.Username, PasswordVerifier.Hash(BlockingKeyDerivation.RightPassword));

        // The right one first: after a failure the throttle makes the next check wait on the fake clock.
        var right = await logins.LoginAsync(SessionHarness.Pop3(), "alice@example.org", BlockingKeyDerivation.RightPassword, null, CancellationToken.None).Guarded();
        var wrong = await logins.LoginAsync(SessionHarness.Pop3(), "alice@example.org", "guess", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.WrongPassword, wrong.Failure);
        Assert.Equal(LoginService.WrongCredentials, wrong.Message);
        // Past the password and the token: only the missing pop_host stops it.
        Assert.Contains("has no pop_host", right.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_TemplateFull_ClearRefusalAndNothingMade()
    {
        var (logins, config, _) = Build(maxAccounts: 1);
        config.Created.Keep(config.ResolveAccount("alice@example.org", DateTimeOffset.UtcNow).Account!.Name);

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "bob@example.org", "x", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.UnknownAccount, outcome.Failure);
        Assert.Contains("max_accounts = 1", outcome.Message, StringComparison.Ordinal);
        Assert.Null(config.FindAccount("bob@example.org"));
    }

    [Fact]
    public async Task LoginAsync_SharedMailboxWithoutTheDelegatesToken_StartsTheDelegatesSignIn()
    {
        var (logins, _, _) = Build(maxAccounts: 5);

        // IMAP: the server has an imap_host, and without a token nothing goes to the network.
        var outcome = await logins.LoginAsync(SessionHarness.Imap(), "info@example.com", "x", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.SignInRequired, outcome.Failure);
        Assert.StartsWith("Account info@example.com uses the sign-in of account me@example.com (token_from). Account me@example.com needs an OAuth2 sign-in", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("/accounts/me%40example.com/signin", outcome.Message, StringComparison.Ordinal);
        Assert.Equal("info@example.com", outcome.Account!.Name);
    }

    [Fact]
    public async Task LoginAsync_SharedMailboxWithTheDelegateSignedIn_UsesTheDelegatesToken()
    {
        var (logins, config, tokens) = Build(maxAccounts: 5);
        await tokens.AcceptSignInAsync(config.FindAccount("me@example.com")!, Tokens, CancellationToken.None, "me@example.com");

        var outcome = await logins.LoginAsync(SessionHarness.Pop3(), "info@example.com", "x", null, CancellationToken.None).Guarded();

        // The token was found (the delegate's): only the missing pop_host stops it.
        Assert.Contains("has no pop_host", outcome.Message, StringComparison.Ordinal);
        Assert.Null(tokens.Peek("info@example.com"));
    }

    private (LoginService Logins, ProxyConfig Config, TokenService Tokens) Build(int maxAccounts)
    {
        var me = TestAccounts.Create("me@example.com");
        var info = TestAccounts.Create("info@example.com") with { TokenFrom = "me@example.com" };
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase) { [ImapOnly.Name] = ImapOnly },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [me.Name] = me, [info.Name] = info })
        {
            Templates = [new AccountTemplate("*@example.org", TestAccounts.Create("*@example.org"), maxAccounts)],
        };
        var time = TimeProvider.System;
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance), time, NullLogger<TokenService>.Instance);
        var logins = new LoginService(new LiveConfig(config), new PasswordVerifier(_derivation, new KeyDerivationPool()), new LoginThrottle(_time), tokens,
            new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
        return (logins, config, tokens);
    }
}
