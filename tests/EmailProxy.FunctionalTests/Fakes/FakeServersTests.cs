using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Fakes;

/// <summary>Tests of the fake servers themselves, with MailKit talking to them directly (no proxy).</summary>
public class FakeServersTests
{
    private const string User = "user@example.com";
    private const string Scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";
    private const string RedirectUri = "http://127.0.0.1:9/";

    [Fact]
    public async Task GetStream_LargeMessageAfterPkceSignIn_ReturnsBytesExactly()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        var large = TestMessages.AnyBytesWithDotLines(5 * 1024 * 1024, User);
        imap.AddMessage(MakeMessage("first"));
        imap.AddMessage(large);
        using var http = NewHttpClient();
        var tokens = await SignInWithPkceAsync(http, identity, User);

        using var client = await ConnectAsync(imap);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, tokens.GetProperty("access_token").GetString()!));
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        await using var byIndex = await client.Inbox.GetStreamAsync(1, string.Empty);
        var summaries = await client.Inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Size);
        await using var byUid = await client.Inbox.GetStreamAsync(summaries[1].UniqueId, string.Empty);
        var count = client.Inbox.Count;
        await client.DisconnectAsync(quit: true);

        Assert.Equal(2, count);
        Assert.Equal((uint)large.Length, summaries[1].Size);
        Assert.True(large.AsSpan().SequenceEqual(TestMessages.ReadAll(byIndex)), "BODY.PEEK[] by index differs from the stored message.");
        Assert.True(large.AsSpan().SequenceEqual(TestMessages.ReadAll(byUid)), "BODY.PEEK[] by UID differs from the stored message.");
        Assert.Empty(imap.Errors.Lines);
    }

    [Fact]
    public async Task Authenticate_WithSaslIr_SendsWellFormedXOAuth2InOneCommand()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        var token = identity.IssueTokenForTests(User).AccessToken;

        using var client = await ConnectAsync(imap);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));

        Assert.True(client.IsAuthenticated);
        Assert.Equal([$"user={User}\u0001auth=Bearer {token}\u0001\u0001"], imap.XOAuth2Strings);
        Assert.Contains(imap.Commands.Lines, line => line.Contains(" AUTHENTICATE XOAUTH2 ", StringComparison.Ordinal));
        Assert.Equal(1, imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Authenticate_WithoutSaslIr_UsesTwoStepFormAndSucceeds()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity, supportSaslIr: false);
        var token = identity.IssueTokenForTests(User).AccessToken;

        using var client = await ConnectAsync(imap);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);

        Assert.True(client.IsAuthenticated);
        Assert.Contains(imap.Commands.Lines, line => line.EndsWith(" AUTHENTICATE XOAUTH2", StringComparison.Ordinal));
        Assert.Equal(1, imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Authenticate_BadToken_ThrowsAuthenticationException()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);

        using var client = await ConnectAsync(imap);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, "not-a-token")));

        Assert.Equal(1, imap.AuthenticationAttempts);
        Assert.Equal(0, imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Authenticate_TokenOfAnotherUser_ThrowsAuthenticationException()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        var token = identity.IssueTokenForTests("other@example.com").AccessToken;

        using var client = await ConnectAsync(imap);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token)));
    }

    [Fact]
    public async Task Authenticate_AfterExpireAllAccessTokens_ThrowsAuthenticationException()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        var token = identity.IssueTokenForTests(User).AccessToken;
        identity.ExpireAllAccessTokens();

        using var client = await ConnectAsync(imap);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token)));
    }

    [Fact]
    public async Task RejectNextAuthentications_One_FailsFirstAttemptThenSucceeds()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        var token = identity.IssueTokenForTests(User).AccessToken;
        imap.RejectNextAuthentications(1);

        using var client = await ConnectAsync(imap);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(User, token)));
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, token));

        Assert.Equal(2, imap.AuthenticationAttempts);
        Assert.Equal(1, imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Append_Message_ServerStoresItWithUid()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity);
        imap.AddMessage(MakeMessage("already there"));
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Sender", "sender@example.com"));
        message.To.Add(new MailboxAddress("User", User));
        message.Subject = "Appended by MailKit";
        message.Body = new TextPart("plain") { Text = "Grüße,\r\nline two\r\n" };

        using var client = await ConnectAsync(imap);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(User, identity.IssueTokenForTests(User).AccessToken));
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
        var uid = await client.Inbox.AppendAsync(new AppendRequest(message, MessageFlags.Seen));
        var fetched = await client.Inbox.GetMessageAsync(1);
        await client.DisconnectAsync(quit: true);

        var appended = Assert.Single(imap.AppendedMessages);
        Assert.Equal(FakeExchangeImapServer.Inbox, appended.Mailbox);
        Assert.Equal(2u, appended.Uid);
        Assert.Equal(appended.Uid, uid?.Id);
        Assert.Contains(@"\Seen", appended.Flags);
        Assert.Equal(2, imap.GetMessages().Count);
        Assert.True(appended.Bytes.AsSpan().SequenceEqual(imap.GetMessages()[1]));
        using var stored = new MemoryStream(appended.Bytes);
        Assert.Equal("Appended by MailKit", (await MimeMessage.LoadAsync(stored)).Subject);
        Assert.Equal("Appended by MailKit", fetched.Subject);
        Assert.Empty(imap.Errors.Lines);
    }

    [Fact]
    public async Task Append_SynchronisingLiteralOverRawTls_AnswersContinuationAndStoresBytesExactly()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity, supportSaslIr: false);
        var token = identity.IssueTokenForTests(User).AccessToken;
        var xoauth2 = XOAuth2Response.Encode(User, token);
        var message = TestMessages.AnyBytesWithDotLines(64 * 1024, User);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, imap.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => TestCertificates.Trusted.ValidateServerCertificate(certificate, errors),
        });
        await using var reader = new FakeConnection(tls);
        async Task SendAsync(string line) => await tls.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));
        async Task<string> ReadAsync() => await reader.ReadLineAsync(CancellationToken.None) ?? throw new EndOfStreamException();

        var greeting = await ReadAsync();
        await SendAsync("a1 CAPABILITY");
        var capability = await ReadAsync();
        var capabilityDone = await ReadAsync();
        await SendAsync("a2 AUTHENTICATE XOAUTH2");
        var authenticateContinuation = await ReadAsync();
        await SendAsync(xoauth2);
        var authenticated = await ReadAsync();
        await SendAsync($"a3 APPEND \"Sent Items\" (\\Seen) \"11-Jun-2024 10:00:00 +0000\" {{{message.Length}}}");
        var appendContinuation = await ReadAsync();
        await tls.WriteAsync(message);
        await SendAsync(string.Empty);
        var appended = await ReadAsync();
        await SendAsync("a4 LOGOUT");
        var bye = await ReadAsync();
        var loggedOut = await ReadAsync();

        Assert.Equal(FakeExchangeImapServer.Greeting, greeting);
        Assert.Equal("* CAPABILITY " + FakeExchangeImapServer.PreAuthCapabilitiesWithoutSaslIr, capability);
        Assert.Equal("a1 OK CAPABILITY completed.", capabilityDone);
        Assert.Equal("+ ", authenticateContinuation);
        Assert.Equal("a2 OK AUTHENTICATE completed.", authenticated);
        Assert.Equal("+ Ready for additional command text.", appendContinuation);
        Assert.Equal($"a3 OK [APPENDUID {FakeExchangeImapServer.UidValidity} 1] APPEND completed.", appended);
        Assert.Equal("* BYE Microsoft Exchange Server IMAP4 server signing off.", bye);
        Assert.Equal("a4 OK LOGOUT completed.", loggedOut);
        var stored = Assert.Single(imap.AppendedMessages);
        Assert.Equal(FakeExchangeImapServer.SentItems, stored.Mailbox);
        Assert.Equal("11-Jun-2024 10:00:00 +0000", stored.InternalDate);
        Assert.True(message.AsSpan().SequenceEqual(stored.Bytes));
    }

    [Fact]
    public async Task Connect_ServerWithUntrustedCertificate_FailsValidationAgainstTestCa()
    {
        await using var identity = await StartIdentityAsync();
        await using var imap = StartImap(identity, useUntrustedCertificate: true);

        using var client = NewImapClient();

        await Assert.ThrowsAsync<SslHandshakeException>(() => client.ConnectAsync("127.0.0.1", imap.Port, SecureSocketOptions.SslOnConnect));
    }

    [Fact]
    public void ValidateServerCertificate_EachCa_AcceptsOnlyItsOwnServerCertificate()
    {
        var trusted = TestCertificates.Trusted;
        var untrusted = TestCertificates.Untrusted;

        Assert.True(trusted.ServerCertificate.HasPrivateKey);
        Assert.True(trusted.ValidateServerCertificate(trusted.ServerCertificate, System.Net.Security.SslPolicyErrors.None));
        Assert.False(trusted.ValidateServerCertificate(untrusted.ServerCertificate, System.Net.Security.SslPolicyErrors.None));
        Assert.True(untrusted.ValidateServerCertificate(untrusted.ServerCertificate, System.Net.Security.SslPolicyErrors.None));
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", trusted.CaPem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_ValidRequest_RecordsItAndRedirectsWithCodeAndState()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();

        var (code, location) = await AuthorizeAsync(http, identity, User, Challenge("verifier-0123456789-0123456789-0123456789-abc"), "state-42");

        Assert.StartsWith(RedirectUri + "?", location.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains("state=state-42", location.Query, StringComparison.Ordinal);
        Assert.StartsWith("fake-code-", code, StringComparison.Ordinal);
        var request = Assert.Single(identity.AuthorizeRequests);
        Assert.Equal(User, request.LoginHint);
        Assert.Equal(Scope, request.Scope);
        Assert.Equal("state-42", request.State);
        Assert.Equal("S256", request.CodeChallengeMethod);
    }

    [Fact]
    public async Task Authorize_WithoutPkce_Returns400()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();

        using var response = await http.GetAsync(new Uri(
            $"{identity.Authority}/{identity.Tenant}/oauth2/v2.0/authorize?client_id={identity.ClientId}&response_type=code"
            + $"&redirect_uri={Uri.EscapeDataString(RedirectUri)}&scope={Uri.EscapeDataString(Scope)}&state=s&login_hint={User}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Token_AuthorizationCodeRedeemedTwice_ReturnsInvalidGrantAadsts54005()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();
        var verifier = NewVerifier();
        var (code, _) = await AuthorizeAsync(http, identity, User, Challenge(verifier), "s");

        var (firstStatus, first) = await PostTokenAsync(http, identity, CodeForm(identity, code, verifier));
        var (secondStatus, second) = await PostTokenAsync(http, identity, CodeForm(identity, code, verifier));

        Assert.Equal(HttpStatusCode.OK, firstStatus);
        Assert.Equal("Bearer", first.GetProperty("token_type").GetString());
        Assert.Equal(3600, first.GetProperty("expires_in").GetInt32());
        Assert.Equal("https://outlook.office.com/IMAP.AccessAsUser.All", first.GetProperty("scope").GetString());
        Assert.True(identity.IsValid(first.GetProperty("access_token").GetString()!, User));
        Assert.Equal(HttpStatusCode.BadRequest, secondStatus);
        Assert.Equal("invalid_grant", second.GetProperty("error").GetString());
        Assert.StartsWith("AADSTS54005:", second.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task Token_WrongCodeVerifier_ReturnsInvalidGrant()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();
        var (code, _) = await AuthorizeAsync(http, identity, User, Challenge(NewVerifier()), "s");

        var (status, body) = await PostTokenAsync(http, identity, CodeForm(identity, code, NewVerifier()));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
        Assert.Equal(0, identity.IssuedAccessTokenCount);
    }

    [Fact]
    public async Task Token_RefreshGrant_RotatesRefreshTokenAndRejectsTheOldOne()
    {
        await using var identity = await StartIdentityAsync();
        identity.AccessTokenLifetime = TimeSpan.FromSeconds(120);
        using var http = NewHttpClient();
        var first = await SignInWithPkceAsync(http, identity, User);
        var firstRefresh = first.GetProperty("refresh_token").GetString()!;

        var (status, second) = await PostTokenAsync(http, identity, RefreshForm(identity, firstRefresh));
        var (reuseStatus, reuse) = await PostTokenAsync(http, identity, RefreshForm(identity, firstRefresh));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(120, second.GetProperty("expires_in").GetInt32());
        var secondRefresh = second.GetProperty("refresh_token").GetString();
        Assert.NotEqual(firstRefresh, secondRefresh);
        Assert.NotEqual(first.GetProperty("access_token").GetString(), second.GetProperty("access_token").GetString());
        Assert.True(identity.IsValid(second.GetProperty("access_token").GetString()!, User));
        Assert.Equal(HttpStatusCode.BadRequest, reuseStatus);
        Assert.Equal("invalid_grant", reuse.GetProperty("error").GetString());
        Assert.Equal(2, identity.RefreshTokenRequests);
        Assert.Equal(1, identity.AuthorizationCodeRequests);
    }

    [Fact]
    public async Task Token_UnknownRefreshToken_ReturnsInvalidGrantAadsts70008()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();

        var (status, body) = await PostTokenAsync(http, identity, RefreshForm(identity, "fake-rt-unknown"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.GetProperty("error").GetString());
        Assert.StartsWith("AADSTS70008:", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(70008, body.GetProperty("error_codes")[0].GetInt32());
    }

    [Fact]
    public async Task Token_FailNextRefreshWith_FailsOnceThenTheSameTokenWorks()
    {
        await using var identity = await StartIdentityAsync();
        using var http = NewHttpClient();
        var refresh = identity.IssueTokenForTests(User).RefreshToken!;
        identity.FailNextRefreshWith("temporarily_unavailable", "AADSTS50196: The server terminated an operation.", 503);

        var (failedStatus, failed) = await PostTokenAsync(http, identity, RefreshForm(identity, refresh));
        var (status, _) = await PostTokenAsync(http, identity, RefreshForm(identity, refresh));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failedStatus);
        Assert.Equal("temporarily_unavailable", failed.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task IsValid_ClockMovedPastLifetime_ReturnsFalse()
    {
        await using var identity = await StartIdentityAsync();
        var now = DateTimeOffset.UtcNow;
        identity.Clock = () => now;
        var token = identity.IssueTokenForTests(User).AccessToken;

        var validBefore = identity.IsValid(token, User);
        now += identity.AccessTokenLifetime;

        Assert.True(validBefore);
        Assert.False(identity.IsValid(token, User));
    }

    private static async Task<FakeIdentityServer> StartIdentityAsync()
    {
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        return identity;
    }

    private static FakeExchangeImapServer StartImap(FakeIdentityServer identity, bool useUntrustedCertificate = false, bool supportSaslIr = true)
    {
        var imap = new FakeExchangeImapServer(identity, useUntrustedCertificate, supportSaslIr);
        imap.Start();
        return imap;
    }

    private static ImapClient NewImapClient() => new()
    {
        CheckCertificateRevocation = false,
        ServerCertificateValidationCallback = (_, certificate, _, errors) => TestCertificates.Trusted.ValidateServerCertificate(certificate, errors),
        Timeout = 30_000,
    };

    private static async Task<ImapClient> ConnectAsync(FakeExchangeImapServer imap)
    {
        var client = NewImapClient();
        await client.ConnectAsync("127.0.0.1", imap.Port, SecureSocketOptions.SslOnConnect);
        return client;
    }

    private static HttpClient NewHttpClient() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<JsonElement> SignInWithPkceAsync(HttpClient http, FakeIdentityServer identity, string user)
    {
        var verifier = NewVerifier();
        var (code, _) = await AuthorizeAsync(http, identity, user, Challenge(verifier), "state");
        var (status, body) = await PostTokenAsync(http, identity, CodeForm(identity, code, verifier));
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    private static async Task<(string Code, Uri Location)> AuthorizeAsync(HttpClient http, FakeIdentityServer identity, string user, string challenge, string state)
    {
        var url = $"{identity.Authority}/{identity.Tenant}/oauth2/v2.0/authorize?client_id={Uri.EscapeDataString(identity.ClientId)}"
            + $"&response_type=code&redirect_uri={Uri.EscapeDataString(RedirectUri)}&scope={Uri.EscapeDataString(Scope)}"
            + $"&state={Uri.EscapeDataString(state)}&code_challenge={challenge}&code_challenge_method=S256&login_hint={Uri.EscapeDataString(user)}";
        using var response = await http.GetAsync(new Uri(url));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location.Query)["code"].ToString();
        return (code, location);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostTokenAsync(HttpClient http, FakeIdentityServer identity, Dictionary<string, string> form)
    {
        using var content = new FormUrlEncodedContent(form);
        using var response = await http.PostAsync(new Uri($"{identity.Authority}/{identity.Tenant}/oauth2/v2.0/token"), content);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    private static Dictionary<string, string> CodeForm(FakeIdentityServer identity, string code, string verifier) => new()
    {
        ["client_id"] = identity.ClientId,
        ["grant_type"] = "authorization_code",
        ["code"] = code,
        ["redirect_uri"] = RedirectUri,
        ["code_verifier"] = verifier,
        ["scope"] = Scope,
    };

    private static Dictionary<string, string> RefreshForm(FakeIdentityServer identity, string refreshToken) => new()
    {
        ["client_id"] = identity.ClientId,
        ["grant_type"] = "refresh_token",
        ["refresh_token"] = refreshToken,
        ["scope"] = Scope,
    };

    private static string NewVerifier() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Challenge(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] MakeMessage(string subject) => Encoding.ASCII.GetBytes(
        $"From: Sender <sender@example.com>\r\nTo: {User}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n");
}
