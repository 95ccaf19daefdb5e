using System.Net;
using System.Text;
using System.Text.Json;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Smtp;

/// <summary>
/// Exchange refuses Send As after the login, inside the relay: the client gets Exchange's reply as it is, and the
/// proxy's log and status page name the permission and the cmdlet that grants it.
/// </summary>
public sealed class SmtpSendAsTests
{
    private const string FixMarker = "Add-RecipientPermission -Identity user@example.com";

    [Fact]
    public async Task Relay_MailFromRefusedAsSendAs_ClientGetsExchangesReplyAndLogAndStatusPageShowTheFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        env.Smtp.MailFromReply = FakeExchangeSmtpServer.SendAsDeniedReply;

        await using (var client = await LineClient.ConnectAsync(env.SmtpPort))
        {
            await client.ReadSmtpReplyAsync();
            await client.WriteAsync("EHLO espocrm.test\r\n");
            await client.ReadSmtpReplyAsync();
            await client.WriteAsync($"AUTH LOGIN {B64(TestEnvironment.Account)}\r\n");
            Assert.Equal("334 UGFzc3dvcmQ6", await client.ReadSmtpReplyAsync());
            await client.WriteAsync(B64("any-password") + "\r\n");
            Assert.Equal("235 2.7.0 Authentication successful", await client.ReadSmtpReplyAsync());

            // Twice in one session: the client gets each refusal unchanged, the log tells it once.
            await client.WriteAsync("MAIL FROM:<info@example.com>\r\n");
            Assert.Equal(FakeExchangeSmtpServer.SendAsDeniedReply, await client.ReadSmtpReplyAsync());
            await client.WriteAsync("MAIL FROM:<info@example.com>\r\n");
            Assert.Equal(FakeExchangeSmtpServer.SendAsDeniedReply, await client.ReadSmtpReplyAsync());
            await client.WriteAsync("QUIT\r\n");
            Assert.StartsWith("221 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        }

        var warning = await proxy.WaitForLineAsync(l => l.Contains(FixMarker, StringComparison.Ordinal));
        Assert.Contains("550 5.7.60 SMTP; Client does not have permissions to send as this sender", warning, StringComparison.Ordinal);
        Assert.Contains("-AccessRights SendAs", warning, StringComparison.Ordinal);
        await proxy.WaitForLineAsync(l => l.Contains("SMTP session from", StringComparison.Ordinal) && l.Contains(" ended: ", StringComparison.Ordinal));
        Assert.Single(proxy.Output, l => l.Contains(FixMarker, StringComparison.Ordinal));

        using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = env.SafetyTimeout };
        using (var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(env.RedirectUri + "/status.json"))))
        {
            var account = json.RootElement.GetProperty("accounts")[0];
            Assert.StartsWith("SMTP: the server refused to send as the message's sender: 550 5.7.60 ", account.GetProperty("last_error").GetString(), StringComparison.Ordinal);
            Assert.Contains(FixMarker, account.GetProperty("fix").GetString(), StringComparison.Ordinal);
        }
        var page = WebUtility.HtmlDecode(await http.GetStringAsync(new Uri(env.RedirectUri + "/")));
        Assert.Contains("data-field=\"last-error\">SMTP: the server refused to send as the message's sender: 550 5.7.60 SMTP;", page, StringComparison.Ordinal);
        Assert.Contains("data-field=\"fix\"><strong>What to do:</strong> Exchange refused to send as the message's sender", page, StringComparison.Ordinal);
        Assert.Contains(FixMarker, page, StringComparison.Ordinal);
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
