using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using EmailProxy.Upstream;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Upstream;

/// <summary>
/// The mailbox probe of an app-only login: Exchange accepts an app token whose app may not open the mailbox and
/// says "User is authenticated but not connected" only to the next command, so the upstream clients ask once
/// (IMAP NAMESPACE or LIST "" "", POP3 STAT) before the login counts. Scripted upstreams on loopback play Exchange.
/// </summary>
public sealed class MailboxProbeTests : IDisposable
{
    private const string ImapGreeting = "* OK The Microsoft Exchange IMAP4 service is ready.";
    private const string Pop3Greeting = "+OK The Microsoft Exchange POP3 service is ready.";
    private const string NotConnectedBad = "BAD User is authenticated but not connected.";

    private readonly TempDirectory _temp = new();

    private static ServerOptions Loopback(ScriptedUpstream upstream) => new("scripted")
    {
        ImapHost = "127.0.0.1",
        ImapPort = upstream.Port,
        PopHost = "127.0.0.1",
        PopPort = upstream.Port,
        Ssl = false,
        StartTls = false,
    };

    /// <summary>Exchange after an accepted XOAUTH2 (SASL-IR): the post-login capabilities in the OK, then the probe's answer.</summary>
    private static Func<string, string[]> Imap(string capabilities, Func<string, string[]> afterLogin) => line => line switch
    {
        "P0C CAPABILITY" => ["* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+", "P0C OK CAPABILITY completed."],
        "P5 LOGOUT" => ["* BYE Microsoft Exchange Server IMAP4 server signing off.", "P5 OK LOGOUT completed."],
        _ when line.StartsWith("P2 AUTHENTICATE XOAUTH2 ", StringComparison.Ordinal) => [$"P2 OK [CAPABILITY {capabilities}] AUTHENTICATE completed."],
        _ => afterLogin(line),
    };

    private static Func<string, string[]> Pop3(Func<string, string[]> afterLogin) => line => line switch
    {
        "AUTH XOAUTH2" => ["+ "],
        "QUIT" => ["+OK Microsoft Exchange Server POP3 server signing off."],
        _ when !line.Contains(' ', StringComparison.Ordinal) && line.Length > 8 && line != "STAT" => ["+OK User successfully authenticated."],
        _ => afterLogin(line),
    };

    [Fact]
    public async Task LoginAsync_ImapProbeAnsweredNotConnected_RejectedNotForTheTokenAndLoggedOut()
    {
        await using var upstream = new ScriptedUpstream(ImapGreeting, Imap("IMAP4 IMAP4rev1 SASL-IR NAMESPACE IDLE", line =>
            line.StartsWith("P4 ", StringComparison.Ordinal) ? [$"P4 {NotConnectedBad}"] : []));

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "shared@contoso.example", "app-token", CancellationToken.None, probeMailbox: true).Guarded();

        Assert.False(result.Succeeded);
        Assert.Equal("User is authenticated but not connected.", result.RejectedText);
        Assert.False(result.TokenRefused);
        await upstream.Closed.Guarded();
        Assert.Equal(["P4 NAMESPACE", "P5 LOGOUT"], upstream.Received.Skip(2));
    }

    [Fact]
    public async Task LoginAsync_ImapProbeAnsweredOk_SucceedsWithTheLoginsCapabilitiesAndNoProbeLineLeftToRelay()
    {
        await using var upstream = new ScriptedUpstream(ImapGreeting, Imap("IMAP4rev1 SASL-IR IDLE", line => line switch
        {
            "P4 LIST \"\" \"\"" => ["* LIST (\\Noselect \\HasChildren) \"/\" \"\"", "P4 OK LIST completed."],
            "C1 NOOP" => ["C1 OK NOOP completed."],
            _ => [],
        }));

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "shared@contoso.example", "app-token", CancellationToken.None, probeMailbox: true).Guarded();

        Assert.True(result.Succeeded);
        await using var connection = result.Connection!;
        Assert.Equal("IMAP4rev1 SASL-IR IDLE", result.Capabilities);
        // What the relay would read next is the answer to the client's first command, not the probe's LIST line.
        await connection.WriteLineAsync("C1 NOOP", CancellationToken.None);
        Assert.Equal("C1 OK NOOP completed.", await connection.ReadLineAsync(CancellationToken.None).Guarded());
        Assert.Equal(["P4 LIST \"\" \"\"", "C1 NOOP"], upstream.Received.Skip(2));
    }

    [Fact]
    public async Task LoginAsync_ImapWithoutProbe_SendsNothingAfterTheLogin()
    {
        await using var upstream = new ScriptedUpstream(ImapGreeting, Imap("IMAP4rev1 SASL-IR NAMESPACE", _ => [$"* {NotConnectedBad}"]));

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "sales@contoso.example", "user-token", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded);
        await result.Connection!.DisposeAsync();
        await upstream.Closed.Guarded();
        Assert.StartsWith("P2 AUTHENTICATE XOAUTH2 ", Assert.Single(upstream.Received.Skip(1)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_Pop3ProbeAnsweredNotConnected_RejectedNotForTheTokenAndQuit()
    {
        await using var upstream = new ScriptedUpstream(Pop3Greeting, Pop3(line =>
            line == "STAT" ? ["-ERR User is authenticated but not connected."] : []));

        var result = await SessionHarness.Pop3().LoginUpstreamAsync(Loopback(upstream), "shared@contoso.example", "app-token", CancellationToken.None, probeMailbox: true).Guarded();

        Assert.False(result.Succeeded);
        Assert.Equal("User is authenticated but not connected.", result.RejectedText);
        Assert.False(result.TokenRefused);
        await upstream.Closed.Guarded();
        Assert.Equal(["STAT", "QUIT"], upstream.Received.Skip(2));
    }

    [Fact]
    public async Task LoginAsync_Pop3ProbeAnsweredOk_SucceedsAndTheStatAnswerIsNotLeftToRelay()
    {
        await using var upstream = new ScriptedUpstream(Pop3Greeting, Pop3(line => line switch
        {
            "STAT" => ["+OK 2 3210"],
            "NOOP" => ["+OK"],
            _ => [],
        }));

        var result = await SessionHarness.Pop3().LoginUpstreamAsync(Loopback(upstream), "shared@contoso.example", "app-token", CancellationToken.None, probeMailbox: true).Guarded();

        Assert.True(result.Succeeded);
        await using var connection = result.Connection!;
        await connection.WriteLineAsync("NOOP", CancellationToken.None);
        Assert.Equal("+OK", await connection.ReadLineAsync(CancellationToken.None).Guarded());
    }

    [Fact]
    public async Task LoginAsync_AppOnlyAccountNotConnected_RejectedWithTheExchangeCmdletsAndNoSecondToken()
    {
        await using var upstream = new ScriptedUpstream(ImapGreeting, Imap("IMAP4rev1 SASL-IR NAMESPACE", line =>
            line.StartsWith("P4 ", StringComparison.Ordinal) ? [$"P4 {NotConnectedBad}"] : []));
        var app = TestAccounts.Create("shared@contoso.example") with
        {
            ServerName = "scripted",
            Flow = OAuthFlow.ClientCredentials,
            ClientSecret = "s",
            Scope = ProviderEndpoints.MicrosoftAppOnlyScope,
        };
        var logins = await LoginsAsync(upstream, app, new StoredTokens("app-token", DateTimeOffset.UtcNow.AddHours(1), null, null));

        var outcome = await logins.LoginAsync(SessionHarness.Imap(), app.Name, "any", null, CancellationToken.None).Guarded();

        Assert.Equal(LoginFailure.Rejected, outcome.Failure);
        Assert.Contains("User is authenticated but not connected", outcome.Message, StringComparison.Ordinal);
        Assert.Contains($"New-ServicePrincipal -AppId {TestAccounts.ClientId} -ObjectId <", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity shared@contoso.example -User <", outcome.Message, StringComparison.Ordinal);
        await upstream.Closed.Guarded();
        Assert.Equal("P5 LOGOUT", upstream.Received[^1]);
    }

    [Fact]
    public async Task LoginAsync_DelegatedAccount_NoProbeSent()
    {
        await using var upstream = new ScriptedUpstream(ImapGreeting, Imap("IMAP4rev1 SASL-IR NAMESPACE", _ => [$"* {NotConnectedBad}"]));
        var person = TestAccounts.Create("sales@contoso.example") with { ServerName = "scripted" };
        var logins = await LoginsAsync(upstream, person, new StoredTokens("user-token", DateTimeOffset.UtcNow.AddHours(1), "refresh", DateTimeOffset.UtcNow));

        var outcome = await logins.LoginAsync(SessionHarness.Imap(), person.Name, "any", null, CancellationToken.None).Guarded();

        Assert.True(outcome.Succeeded);
        await outcome.Upstream!.Connection!.DisposeAsync();
        await upstream.Closed.Guarded();
        Assert.StartsWith("P2 AUTHENTICATE XOAUTH2 ", Assert.Single(upstream.Received.Skip(1)), StringComparison.Ordinal);
    }

    /// <summary>A login road for one account on the scripted upstream, its tokens already stored.</summary>
    private async Task<LoginService> LoginsAsync(ScriptedUpstream upstream, AccountOptions account, StoredTokens stored)
    {
        var server = Loopback(upstream);
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase) { [server.Name] = server },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [account.Name] = account });
        var time = TimeProvider.System;
        var store = new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(account, stored, CancellationToken.None);
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, store, time, NullLogger<TokenService>.Instance);
        return new LoginService(new LiveConfig(config), new PasswordVerifier(), new LoginThrottle(time), tokens,
            new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
    }

    public void Dispose() => _temp.Dispose();
}
