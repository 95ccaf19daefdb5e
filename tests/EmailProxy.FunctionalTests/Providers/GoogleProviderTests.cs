using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Providers;

/// <summary>
/// <c>provider = google</c> end to end against Google-shaped fakes: the sign-in at Google's paths with
/// <c>access_type=offline</c> and <c>prompt=consent</c> (the fake issues a refresh token only then) and a token JSON
/// without <c>ext_expires_in</c>; IMAP with Gmail's refusal (a JSON challenge, then "Invalid credentials"); SMTP on
/// implicit TLS as smtp.gmail.com:465 is (<c>ssl = true</c>, <c>starttls = false</c> on the test's port).
/// </summary>
public sealed class GoogleProviderTests
{
    private const string Password = "any-Pa55word";
    private const string ClientSecret = "GOCSPX-fake-desktop-client-secret";

    private static async Task<ProxyProcess> StartGoogleProxyAsync(TestEnvironment env)
    {
        env.Identity.ClientSecret = ClientSecret;
        // Google does not rotate refresh tokens: a refresh answers without a new one, and the old one keeps working.
        env.Identity.InvalidateRotatedRefreshTokens = false;
        env.Smtp.ImplicitTls = true;
        env.WriteConfig(transform: text => text
            .Replace($"tenant = {env.Identity.Tenant}\nauthority = {env.Identity.Authority}\n",
                $"provider = google\nclient_secret = {ClientSecret}\nauthorize_url = {env.Identity.GoogleAuthorizeUrl}\ntoken_url = {env.Identity.GoogleTokenUrl}\n", StringComparison.Ordinal)
            .Replace("scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access\n", "", StringComparison.Ordinal)
            .Replace($"ca_file = {env.CaFile}", $"ca_file = {env.CaFile}\nstarttls = false", StringComparison.Ordinal));
        Assert.Contains("provider = google", await File.ReadAllTextAsync(env.ConfigPath), StringComparison.Ordinal);
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        return proxy;
    }

    [Fact]
    public async Task SignInThenImapAndSmtp_GoogleShapedProvider_OfflineConsentAndImplicitTlsSmtp()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Imap.AddMessage(TestMessages.Large(4096));
        await StartGoogleProxyAsync(env);

        var authorize = Assert.Single(env.Identity.AuthorizeRequests);
        Assert.Equal("offline", authorize.Query["access_type"]);
        Assert.Equal("consent", authorize.Query["prompt"]);
        Assert.Contains("https://mail.google.com/", authorize.Scope, StringComparison.Ordinal);
        var redeem = Assert.Single(env.Identity.TokenRequests, r => r.GrantType == "authorization_code");
        Assert.Equal(ClientSecret, redeem.Form["client_secret"]);

        using (var imap = new ImapClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await imap.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await imap.AuthenticateAsync(TestEnvironment.Account, Password);
            await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
            Assert.Equal(1, imap.Inbox.Count);
            await imap.DisconnectAsync(quit: true);
        }

        using (var smtp = new SmtpClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await smtp.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            await smtp.AuthenticateAsync(TestEnvironment.Account, Password);
            var message = new MimeMessage { Subject = "Through Gmail's 465" };
            message.From.Add(MailboxAddress.Parse(TestEnvironment.Account));
            message.To.Add(MailboxAddress.Parse("someone@example.net"));
            message.Body = new TextPart("plain") { Text = "Sent on implicit TLS.\r\n" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }

        Assert.Equal("Through Gmail's 465", MimeMessage.Load(new MemoryStream(Assert.Single(env.Smtp.Messages).Data)).Subject);
        // TLS from the first byte: the fake offered no STARTTLS, and none was sent.
        Assert.DoesNotContain("STARTTLS", env.Smtp.Commands.Lines);
        Assert.Contains("AUTH XOAUTH2", env.Smtp.Commands.Lines);
        Assert.Equal(0, env.Smtp.TlsHandshakeFailures);
    }

    [Fact]
    public async Task Login_GmailRefusesTheToken_ChallengeAnsweredAndTheClientToldGooglesFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await StartGoogleProxyAsync(env);
        env.Imap.GmailStyleRefusal = true;
        // Every token: the first and the one refreshed after it (MailKit then tries its LOGIN command too).
        env.Imap.RejectNextAuthentications(100);

        using var imap = new ImapClient { Timeout = (int)env.SafetyTimeout.TotalMilliseconds };
        await imap.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(TestEnvironment.Account, Password));

        Assert.Contains("refused the OAuth2 token", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid credentials (Failure)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"400\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains("App access control", refused.Message, StringComparison.Ordinal);
        // The refresh after the first refusal: at Google's token path, without ext_expires_in, and it worked.
        Assert.Contains(env.Identity.TokenRequests, r => r.GrantType == "refresh_token" && r.StatusCode == 200);
        Assert.True(env.Imap.Commands.Lines.Count(l => l.StartsWith("(answer to the challenge: 0 characters)", StringComparison.Ordinal)) >= 2, "each challenge answered with an empty line");
        Assert.Equal(0, env.Imap.SuccessfulAuthentications);
        Assert.False(proxy.HasExited);
    }
}
