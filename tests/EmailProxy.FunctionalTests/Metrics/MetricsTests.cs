using System.Globalization;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Metrics;

/// <summary><c>/metrics</c> of the real proxy after a scripted run of logins against the fakes.</summary>
public sealed class MetricsTests
{
    private const string Second = "second@example.com";

    [Fact]
    public async Task Metrics_AfterScriptedLogins_HoldsExactlyTheExpectedLoginCountsAndNoClientAddress()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var deadPort = TestEnvironment.GetFreePort();
        // A second account that never signs in, and a POP3 upstream that is down.
        env.WriteConfig(
            append: $"""

                [account {Second}]
                client_id = {env.Identity.ClientId}
                tenant = {env.Identity.Tenant}
                authority = {env.Identity.Authority}
                server = {TestEnvironment.ServerName}
                scope = https://outlook.office.com/SMTP.Send offline_access

                """,
            transform: text => text.Replace($"pop_port = {env.Pop.Port}", $"pop_port = {deadPort}", StringComparison.Ordinal));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        // IMAP: a login that succeeds.
        await using (var imap = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
            await imap.WriteAsync("l2 LOGOUT\r\n");
            await imap.ReadUntilAsync(l => l.StartsWith("l2 ", StringComparison.Ordinal));
        }

        // SMTP: the second account needs a sign-in.
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
            // One mechanism: MailKit tries the next one after a refusal, which would be a second login.
            smtp.AuthenticationMechanisms.RemoveWhere(m => m != "PLAIN");
            var refused = await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(Second, "any-password"));
            Assert.Contains("needs an OAuth2 sign-in", refused.Message, StringComparison.Ordinal);
        }

        // POP3: the upstream is down.
        await using (var pop = await LineClient.ConnectAsync(env.PopPort))
        {
            await pop.ReadLineAsync();
            await pop.WriteAsync($"USER {TestEnvironment.Account}\r\nPASS any-password\r\n");
            Assert.Equal("+OK Send PASS", await pop.ReadLineAsync());
            Assert.StartsWith("-ERR [SYS/TEMP]", await pop.ReadLineAsync(), StringComparison.Ordinal);
        }

        using var http = new HttpClient(new HttpClientHandler { UseProxy = false });
        var text = await http.GetStringAsync(new Uri(env.RedirectUri + "/metrics"));
        var series = Parse(text);

        var logins = series.Where(s => s.Key.StartsWith("emailproxy_logins{", StringComparison.Ordinal)).ToDictionary();
        Assert.Equal(
            new Dictionary<string, double>
            {
                ["emailproxy_logins{outcome=\"ok\",protocol=\"IMAP\"}"] = 1,
                ["emailproxy_logins{outcome=\"sign_in_needed\",protocol=\"SMTP\"}"] = 1,
                ["emailproxy_logins{outcome=\"unavailable\",protocol=\"POP3\"}"] = 1,
            }.OrderBy(p => p.Key, StringComparer.Ordinal),
            logins.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(1, series["emailproxy_token_requests{aadsts=\"none\",grant=\"authorization_code\",result=\"ok\"}"]);
        Assert.Equal(1, series[$"emailproxy_account_signed_in{{account=\"{TestEnvironment.Account}\"}}"]);
        Assert.Equal(0, series[$"emailproxy_account_signed_in{{account=\"{Second}\"}}"]);
        Assert.True(series[$"emailproxy_access_token_expires_in_seconds{{account=\"{TestEnvironment.Account}\"}}"] > 0, text);
        Assert.True(series["emailproxy_relay_bytes{direction=\"to_client\",protocol=\"IMAP\"}"] > 0, text);
        Assert.Equal(3, series["emailproxy_sessions_opened{protocol=\"IMAP\"}"] + series["emailproxy_sessions_opened{protocol=\"SMTP\"}"] + series["emailproxy_sessions_opened{protocol=\"POP3\"}"]);
        // Labels name protocols, outcomes and configured accounts: never a client's address.
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        Assert.DoesNotContain(deadPort.ToString(CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
    }

    /// <summary>The Prometheus text format, simply: one series per line (name and labels as written) and its value.</summary>
    private static Dictionary<string, double> Parse(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => (Series: line[..line.LastIndexOf(' ')], Value: line[(line.LastIndexOf(' ') + 1)..]))
            .ToDictionary(p => p.Series, p => double.Parse(p.Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);
}
