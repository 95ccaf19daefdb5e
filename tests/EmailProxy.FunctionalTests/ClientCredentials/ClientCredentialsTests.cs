using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.ClientCredentials;

/// <summary>
/// flow = client_credentials through the real emailproxy: app-only tokens from the fake identity server (with a
/// secret, or a certificate's signed assertion), XOAUTH2 to the fake Exchange as the account's username, no sign-in
/// ever; a wrong secret and a mailbox the app may not open are refused with the fix in the client's text.
/// </summary>
public sealed class ClientCredentialsTests
{
    private const string Password = "any-Pa55word";
    private const string Secret = "app-secret-VALUE";

    /// <summary>The default configuration with its account made app-only (no scope: the .default one is the default).</summary>
    private static void WriteAppOnlyConfig(TestEnvironment env, string credentials) =>
        env.WriteConfig(transform: text => text.Replace(
            "scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access",
            "flow = client_credentials\n" + credentials,
            StringComparison.Ordinal));

    /// <summary>A self-signed RSA certificate and its key as PEM files in the test's folder; the certificate (public part) is returned.</summary>
    private static X509Certificate2 WriteCertificate(TestEnvironment env, string certificatePath, string keyPath)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=emailproxy app-only test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var withKey = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(Path.Combine(env.Directory, certificatePath), withKey.ExportCertificatePem());
        File.WriteAllText(Path.Combine(env.Directory, keyPath), key.ExportPkcs8PrivateKeyPem());
        return X509CertificateLoader.LoadCertificate(withKey.RawData);
    }

    [Fact]
    public async Task Login_ClientSecret_ImapAndSmtpLogInWithOneAppTokenAndNoSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        env.Identity.GrantAppMailbox(TestEnvironment.Account);
        WriteAppOnlyConfig(env, $"client_secret = {Secret}\n");
        var proxy = await env.StartProxyAsync();

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            var inbox = client.Inbox;
            await inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
            await client.DisconnectAsync(quit: true);
        }
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse(TestEnvironment.Account));
            message.To.Add(MailboxAddress.Parse("customer@example.org"));
            message.Subject = "Sent as the app";
            message.Body = new TextPart("plain") { Text = "Hello.\r\n" };
            await client.SendAsync(message);
            await client.DisconnectAsync(quit: true);
        }

        Assert.Equal(1, env.Identity.ClientCredentialsRequests);
        Assert.Empty(env.Identity.AuthorizeRequests);
        var request = Assert.Single(env.Identity.TokenRequests);
        Assert.Equal(FakeIdentityServer.AppOnlyScope, request.Form["scope"]);
        Assert.StartsWith($"user={TestEnvironment.Account}\u0001auth=Bearer fake-app-at-", Assert.Single(env.Imap.XOAuth2.DecodedResponses), StringComparison.Ordinal);
        Assert.Single(env.Smtp.Messages);
        Assert.Single(Directory.GetFiles(env.TokenDirectory, "*.json"));
        await proxy.WaitForLineAsync(l => l.Contains("App-only OAuth2 access token", StringComparison.Ordinal) && l.Contains(TestEnvironment.Account, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_ClientCertificate_SignedAssertionAcceptedAndNoSecretSent()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.RegisterClientCertificate(WriteCertificate(env, "app.crt.pem", "app.key.pem"));
        env.Identity.GrantAppMailbox(TestEnvironment.Account);
        WriteAppOnlyConfig(env, "client_certificate = app.crt.pem\nclient_key = app.key.pem\n");
        await env.StartProxyAsync();

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            await client.DisconnectAsync(quit: true);
        }

        var request = Assert.Single(env.Identity.TokenRequests);
        Assert.Equal(200, request.StatusCode);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", request.Form["client_assertion_type"]);
        Assert.False(request.Form.ContainsKey("client_secret"));
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
    }

    [Fact]
    public async Task Login_WrongSecret_ClientToldTheFixAndNoSignIn()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        env.Identity.GrantAppMailbox(TestEnvironment.Account);
        WriteAppOnlyConfig(env, "client_secret = the-secret-ID-by-mistake\n");
        var proxy = await env.StartProxyAsync();

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password));
            Assert.Contains("AADSTS7000215", refused.Message, StringComparison.Ordinal);
            Assert.Contains("secret's Value", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("the-secret-ID-by-mistake", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("sign-in", refused.Message, StringComparison.Ordinal);
        }

        var logged = await proxy.WaitForLineAsync(l => l.Contains("client-credentials request", StringComparison.Ordinal) && l.Contains("AADSTS7000215", StringComparison.Ordinal));
        Assert.Contains("not its Secret ID", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("the-secret-ID-by-mistake", StringComparison.Ordinal));
        Assert.Empty(env.Identity.AuthorizeRequests);
        Assert.Equal(0, env.Imap.ConnectionCount);
    }

    /// <summary>
    /// Exchange (and the fake) accepts the app's XOAUTH2 for a mailbox the app may not open and answers the next
    /// command "BAD User is authenticated but not connected.": the proxy's probe (NAMESPACE) hears it before the client
    /// is told anything, logs out, and refuses the login with the fix, in the client's text and the log.
    /// </summary>
    [Fact]
    public async Task Login_AppWithoutMailboxPermission_ClientToldTheExchangeCmdletsWithThisAccountsValues()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        WriteAppOnlyConfig(env, $"client_secret = {Secret}\n");
        var proxy = await env.StartProxyAsync();

        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password));

        Assert.Contains("User is authenticated but not connected", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"New-ServicePrincipal -AppId {env.Identity.ClientId} -ObjectId <", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"Add-MailboxPermission -Identity {TestEnvironment.Account} -User <", refused.Message, StringComparison.Ordinal);
        Assert.Empty(env.Identity.AuthorizeRequests);
        await env.Imap.WaitForCommandAsync(c => c == "P5 LOGOUT");
        Assert.Contains("P4 NAMESPACE", env.Imap.Commands.Lines);
        Assert.Equal(1, env.Identity.ClientCredentialsRequests);
        var logged = await proxy.WaitForLineAsync(l => l.Contains("User is authenticated but not connected", StringComparison.Ordinal));
        Assert.Contains("Add-MailboxPermission", logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_Pop3AppWithoutMailboxPermission_StatProbeRefusesTheLoginWithTheFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        WriteAppOnlyConfig(env, $"client_secret = {Secret}\n");
        await env.StartProxyAsync();

        // MailKit's POP3 client hides the server's words: the raw transcript shows them.
        await using var raw = await LineClient.ConnectAsync(env.PopPort);
        await raw.ReadLineAsync();
        await raw.WriteAsync($"USER {TestEnvironment.Account}\r\n");
        await raw.ReadLineAsync();
        await raw.WriteAsync($"PASS {Password}\r\n");
        var refused = await raw.ReadLineAsync();

        Assert.StartsWith("-ERR [AUTH] ", refused, StringComparison.Ordinal);
        Assert.Contains("User is authenticated but not connected", refused, StringComparison.Ordinal);
        Assert.Contains("POP.AccessAsApp", refused, StringComparison.Ordinal);
        Assert.Contains($"Add-MailboxPermission -Identity {TestEnvironment.Account} -User <", refused, StringComparison.Ordinal);
        await env.Pop.Commands.WaitForAsync(c => c == "QUIT");
        Assert.Contains("STAT", env.Pop.Commands.Lines);
    }

    [Fact]
    public async Task Login_Pop3AppWithMailboxPermission_ClientSeesOnlyItsOwnAnswers()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.ClientSecret = Secret;
        env.Identity.GrantAppMailbox(TestEnvironment.Account);
        WriteAppOnlyConfig(env, $"client_secret = {Secret}\n");
        await env.StartProxyAsync();

        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestEnvironment.Account, Password);
        var count = await client.GetMessageCountAsync();
        await client.DisconnectAsync(quit: true);

        // The proxy's STAT came first, and its answer was not relayed: the client's own STAT got the maildrop's count.
        Assert.Equal("STAT", env.Pop.Commands.Lines.SkipWhile(c => !c.StartsWith("AUTH", StringComparison.Ordinal)).Skip(2).First());
        Assert.Equal(env.Pop.SnapshotMaildrop().Count, count);
    }
}
