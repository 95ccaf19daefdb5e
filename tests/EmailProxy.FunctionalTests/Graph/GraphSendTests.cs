using System.Text;
using EmailProxy.FunctionalTests.Clients;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.Graph;

/// <summary>
/// smtp_via = graph: the SMTP front takes the message itself after AUTH and delivers it through
/// (a fake of) Microsoft Graph's sendMail, opening no upstream SMTP connection.
/// </summary>
public sealed class GraphSendTests
{
    private const string User = TestEnvironment.Account;
    private const string Password = "any-password";

    [Fact]
    public async Task Send_SwaksWithBcc_ArrivesByteExactAndBccOnlyInTheAddedHeader()
    {
        await using var g = await GraphEnvironment.StartAsync();
        var message = Encoding.UTF8.GetBytes(
            "From: user@example.com\r\nTo: lead@example.org\r\nSubject: Grüße via Graph\r\nMessage-ID: <swaks-1@example.com>\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
            "Grüße.\r\n.a line that starts with a dot\r\n..two dots\r\n\r\nend");
        var file = Path.Combine(g.Env.Directory, "swaks.eml");
        await File.WriteAllBytesAsync(file, message);

        var run = await ClientRun.RunAsync(g.Env.Directory, "swaks",
            ["--server", "127.0.0.1", "--port", $"{g.Env.SmtpPort}", "--auth", "LOGIN", "--auth-user", User, "--auth-password", Password,
             "--from", User, "--to", "lead@example.org,hidden@example.org", "--data", "@" + file, "--tls-optional-strict", "--pipeline"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var sent = Assert.Single(g.Graph.Messages);
        Assert.Equal(User, sent.User);
        var bcc = "Bcc: hidden@example.org\r\n"u8.ToArray();
        // swaks ends DATA with CRLF . CRLF: the first CRLF ends the message's last line.
        Assert.Equal([.. bcc, .. message, .. "\r\n"u8], sent.Mime);
        // graph_save_to_sent_items = true (the default): Graph keeps its copy.
        Assert.Same(sent, Assert.Single(g.Graph.SentItems));
        Assert.Equal(0, g.Env.Smtp.AuthenticationAttempts);
        Assert.Contains(g.Proxy.Output, line => line.Contains("<swaks-1@example.com>", StringComparison.Ordinal) && line.Contains("result sent", StringComparison.Ordinal));
        Assert.DoesNotContain(g.Proxy.Output, line => line.Contains("Grüße.", StringComparison.Ordinal));
        // The session's end line counts what the client sent and got, as a relayed session's does.
        var ended = await g.Proxy.WaitForLineAsync(line => line.Contains("served through Microsoft Graph, 1 message sent", StringComparison.Ordinal));
        var bytes = System.Text.RegularExpressions.Regex.Match(ended, "; (\\d+) bytes from the client, (\\d+) bytes to it");
        Assert.True(bytes.Success, ended);
        Assert.InRange(long.Parse(bytes.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), message.Length + 50, message.Length + 500);
        Assert.InRange(long.Parse(bytes.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 100, 2000);

        using var http = new HttpClient();
        var status = await http.GetStringAsync(new Uri(g.Env.RedirectUri + "/"));
        Assert.Contains("Microsoft Graph (smtp_via = graph)", status, StringComparison.Ordinal);
        Assert.Matches("Last Graph send</dt><dd>[^<]*UTC: sent<", status);
        var metrics = await http.GetStringAsync(new Uri(g.Env.RedirectUri + "/metrics"));
        Assert.Contains("emailproxy_graph_sends{result=\"sent\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("emailproxy_graph_send_seconds_(count|bucket)\\{[^}]*result=\"sent\"", metrics);
    }

    [Fact]
    public async Task Send_SymfonyMailerOneMegabyte_ArrivesByteExact()
    {
        await using var g = await GraphEnvironment.StartAsync();
        var message = GraphTestMessages.WithAttachment(1024 * 1024, "customer@example.org");
        var file = Path.Combine(g.Env.Directory, "symfony.eml");
        await File.WriteAllBytesAsync(file, message);
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "symfony_send.php");

        var run = await ClientRun.RunAsync(g.Env.Directory, "php", [script, "127.0.0.1", $"{g.Env.SmtpPort}", "auto", User, Password, "none", file]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var sent = Assert.Single(g.Graph.Messages);
        // Symfony Mailer ends DATA with CRLF . CRLF: the first CRLF ends the message's last line.
        Assert.True(sent.Mime.AsSpan().SequenceEqual([.. message, .. "\r\n"u8]), $"{sent.Mime.Length} bytes arrived for {message.Length} sent");
    }

    [Fact]
    public async Task Send_25MiBBySwaksAndSymfonyMailer_DraftFromTheMimeAttachmentUploadedInChunksByteExact()
    {
        await using var g = await GraphEnvironment.StartAsync();
        const int attachmentSize = 18 * 1024 * 1024;
        var message = GraphTestMessages.WithAttachment(attachmentSize, "customer@example.org", "large via Graph");
        Assert.True(message.Length > 24 * 1024 * 1024, $"{message.Length} bytes");
        var file = Path.Combine(g.Env.Directory, "large.eml");
        await File.WriteAllBytesAsync(file, message);
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "symfony_send.php");

        // Both clients at once on one proxy: each one's send is the other's concurrent load.
        var runs = await Task.WhenAll(
            ClientRun.RunAsync(g.Env.Directory, "swaks",
                ["--server", "127.0.0.1", "--port", $"{g.Env.SmtpPort}", "--auth", "PLAIN", "--auth-user", User, "--auth-password", Password,
                 "--from", User, "--to", "customer@example.org", "--data", "@" + file, "--suppress-data"]),
            ClientRun.RunAsync(g.Env.Directory, "php", [script, "127.0.0.1", $"{g.Env.SmtpPort}", "auto", User, Password, "none", file]));

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.ToString()));
        Assert.Equal(2, g.Graph.Messages.Count);
        var expected = new byte[attachmentSize];
        new Random(19).NextBytes(expected);
        // The draft is the message without its attachment: headers and text part as the client wrote them.
        var textEnd = message.AsSpan().IndexOf("--graph-b1\r\nContent-Type: application/octet-stream"u8);
        foreach (var sent in g.Graph.Messages)
        {
            var attachment = Assert.Single(sent.Attachments);
            Assert.Equal("data.bin", attachment.Name);
            Assert.Equal("application/octet-stream", attachment.ContentType);
            Assert.True(expected.AsSpan().SequenceEqual(attachment.Content), "the attachment arrives byte for byte");
            Assert.True(sent.Mime.AsSpan().StartsWith(message.AsSpan(0, textEnd)), Encoding.UTF8.GetString(sent.Mime));
        }
        Assert.True(g.Graph.LargestRequest <= 4 * 1024 * 1024, $"largest request {g.Graph.LargestRequest} bytes");
        Assert.Equal(0, g.Graph.OpenDrafts);
    }

    [Fact]
    public async Task Send_SaveToSentItemsFalse_DraftsMarkedDeleteAfterSubmitAndSentItemsStaysEmpty()
    {
        await using var g = await GraphEnvironment.StartAsync(more: "graph_save_to_sent_items = false\n");
        using var client = await ConnectAsync(g.Env);
        var small = Message("no copy in Sent Items");
        small.Bcc.Add(MailboxAddress.Parse("hidden@example.org"));
        var large = MimeMessage.Load(new MemoryStream(GraphTestMessages.WithAttachment(5 * 1024 * 1024, "customer@example.org", "large, no copy")));

        await client.SendAsync(small);
        await client.SendAsync(large);

        Assert.Equal(2, g.Graph.Messages.Count);
        Assert.All(g.Graph.Messages, m => Assert.True(m.DeleteAfterSubmit));
        Assert.Empty(g.Graph.SentItems);
        Assert.Equal(0, g.Graph.OpenDrafts);
        // A small message is a draft made from its MIME as it is (the hidden recipient in a Bcc header): no sendMail.
        Assert.Equal(0, g.Graph.Requests);
        var first = MimeMessage.Load(new MemoryStream(g.Graph.Messages[0].Mime));
        Assert.Equal("no copy in Sent Items", first.Subject);
        Assert.Equal("hidden@example.org", Assert.Single(first.Bcc.Mailboxes).Address);
        Assert.Equal("data.bin", Assert.Single(g.Graph.Messages[1].Attachments).Name);
    }

    [Fact]
    public async Task Send_LargeMessageWhoseDraftSendIsRefused_550AndTheDraftDeleted()
    {
        await using var g = await GraphEnvironment.StartAsync();
        g.Graph.FailDraftSend = FakeGraphFault.AccessDenied;
        using var client = await ConnectAsync(g.Env);
        var message = MimeMessage.Load(new MemoryStream(GraphTestMessages.WithAttachment(5 * 1024 * 1024, "customer@example.org")));

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));

        Assert.Equal(550, (int)refused.StatusCode);
        Assert.Empty(g.Graph.Messages);
        Assert.Equal(0, g.Graph.OpenDrafts);
        Assert.Equal(1, g.Graph.DeletedDrafts);
    }

    [Fact]
    public async Task Send_LargeMessageTokenRefusedMidway_DraftDeletedWithANewTokenThenSentOnce()
    {
        await using var g = await GraphEnvironment.StartAsync();
        using var client = await ConnectAsync(g.Env);
        var before = g.GraphTokenRequests;
        // The draft is made, then the token is refused (and stays refused) at the attachment's upload session.
        g.Graph.FailNextAt(FakeGraphStep.CreateUploadSession, FakeGraphFault.Unauthorized);
        var message = MimeMessage.Load(new MemoryStream(GraphTestMessages.WithAttachment(5 * 1024 * 1024, "customer@example.org")));

        await client.SendAsync(message);

        Assert.Single(g.Graph.Messages);
        Assert.Equal(0, g.Graph.OpenDrafts);
        Assert.Equal(1, g.Graph.DeletedDrafts);
        Assert.Equal(before + 1, g.GraphTokenRequests);
    }

    [Theory]
    [InlineData(FakeGraphFault.AccessDenied, 550, "Mail.Send")]
    [InlineData(FakeGraphFault.SendAsDenied, 550, "Send As")]
    [InlineData(FakeGraphFault.TooLarge, 552, "too large")]
    [InlineData(FakeGraphFault.Throttled, 451, "try again in 7 seconds")]
    [InlineData(FakeGraphFault.NotJson, 451, "not JSON")]
    [InlineData(FakeGraphFault.DropConnection, 451, "may have been sent")]
    public async Task Send_GraphFault_ClearReplyThenTheClientsRetrySucceeds(FakeGraphFault fault, int code, string words)
    {
        await using var g = await GraphEnvironment.StartAsync();
        g.Graph.FailNext(fault);
        using var client = await ConnectAsync(g.Env);

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("first try")));
        Assert.Equal(code, (int)refused.StatusCode);
        Assert.Contains(words, refused.Message, StringComparison.Ordinal);
        Assert.Empty(g.Graph.Messages);

        await client.SendAsync(Message("second try"));
        Assert.Equal("second try", MimeMessage.Load(new MemoryStream(Assert.Single(g.Graph.Messages).Mime)).Subject);
        if (fault == FakeGraphFault.DropConnection)
        {
            Assert.Contains(g.Proxy.Output, line => line.Contains("may have been sent", StringComparison.Ordinal) && line.Contains("GraphMessageMaybeSent", StringComparison.Ordinal) || line.Contains("it may have been sent", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Send_GraphNeverAnswers_451MaybeSentAfterTheRequestTimeoutThenTheRetrySucceeds()
    {
        // The proxy's Graph request timeout (two minutes) shortened for the test: this fault waits for it.
        await using var g = await GraphEnvironment.StartAsync(environment: new Dictionary<string, string?> { ["EMAILPROXY_TEST_GRAPH_REQUEST_TIMEOUT"] = "2" });
        g.Graph.FailNext(FakeGraphFault.Hang);
        using var client = await ConnectAsync(g.Env);
        client.Timeout = 30_000;

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("first try")));

        Assert.True(g.Graph.HangReached.Task.IsCompleted);
        Assert.Equal(451, (int)refused.StatusCode);
        Assert.Contains("no answer within 2 seconds", refused.Message, StringComparison.Ordinal);
        Assert.Contains("may have been sent", refused.Message, StringComparison.Ordinal);
        Assert.Contains(g.Proxy.Output, line => line.Contains("it may have been sent", StringComparison.Ordinal));
        Assert.Empty(g.Graph.Messages);

        await client.SendAsync(Message("second try"));
        Assert.Equal("second try", MimeMessage.Load(new MemoryStream(Assert.Single(g.Graph.Messages).Mime)).Subject);
    }

    [Fact]
    public async Task Send_GraphRefusesTheTokenOnce_NewGraphTokenAndSentOnce()
    {
        await using var g = await GraphEnvironment.StartAsync();
        using var client = await ConnectAsync(g.Env);
        var before = g.GraphTokenRequests;
        g.Graph.FailNext(FakeGraphFault.Unauthorized);

        await client.SendAsync(Message("after a 401"));

        Assert.Single(g.Graph.Messages);
        Assert.Equal(before + 1, g.GraphTokenRequests);
    }

    [Fact]
    public async Task Auth_GraphConsentMissing_535WithThePermissionToGrantThenTheNextLoginSends()
    {
        await using var g = await GraphEnvironment.StartAsync();
        g.Env.Identity.FailNextRefreshWith("invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application with ID 'test-client-id'.");

        await using var raw = await LineClient.ConnectAsync(g.Env.SmtpPort);
        Assert.StartsWith("220 ", await raw.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await raw.WriteAsync("EHLO test\r\n");
        await raw.ReadSmtpReplyAsync();
        await raw.WriteAsync($"AUTH PLAIN {Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{User}\0{Password}"))}\r\n");
        var refused = await raw.ReadSmtpReplyAsync();
        Assert.StartsWith("535", refused, StringComparison.Ordinal);
        Assert.Contains("AADSTS65001", refused, StringComparison.Ordinal);
        Assert.Contains("delegated permission Mail.Send", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("fake refused", refused, StringComparison.Ordinal);

        // Consent granted meanwhile: the next login gets its Graph token and sends.
        using var client = await ConnectAsync(g.Env);
        await client.SendAsync(Message("after consent"));
        Assert.Single(g.Graph.Messages);
        Assert.Equal(0, g.Env.Smtp.AuthenticationAttempts);
    }

    [Fact]
    public async Task Send_SharedMailboxOnTheDelegatesSignIn_SentAsTheSharedMailboxWithMailSendShared()
    {
        const string shared = "shared@example.com";
        await using var g = await GraphEnvironment.StartAsync(more: $"\n[account {shared}]\ntoken_from = {User}\nsmtp_via = graph\ngraph_url = {{graph_url}}\n");
        g.Env.Identity.AllowDelegate(User, shared);

        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", g.Env.SmtpPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(shared, Password);
        var message = Message("from the shared mailbox");
        message.From.Clear();
        message.From.Add(MailboxAddress.Parse(shared));
        await client.SendAsync(message);

        var sent = Assert.Single(g.Graph.Messages);
        Assert.Equal(shared, sent.User);
        Assert.Contains(g.Env.Identity.TokenRequests, r => r.Form.TryGetValue("scope", out var scope)
            && scope.Contains(FakeGraphServer.GraphResource + "Mail.Send.Shared", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Send_FiftyConcurrentSessions_OneGraphTokenRequest()
    {
        await using var g = await GraphEnvironment.StartAsync();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var client = await ConnectAsync(g.Env);
            await client.SendAsync(Message($"concurrent {i}"));
            await client.DisconnectAsync(quit: true);
        }));

        Assert.Equal(50, g.Graph.Messages.Count);
        Assert.Equal(1, g.GraphTokenRequests);
        Assert.Equal(0, g.Graph.TokenRefusals);
    }

    [Fact]
    public async Task Auth_AutoAndExchangeSaysSmtpAuthDisabled_SwitchesToGraphOnceAndSendsThisSession()
    {
        await using var g = await GraphEnvironment.StartAsync(via: "auto");
        g.Env.Smtp.FailureReply = FakeExchangeSmtpServer.SmtpAuthDisabledReply;
        g.Env.Smtp.RejectNextAuthentications(1);

        using (var client = await ConnectAsync(g.Env))
        {
            await client.SendAsync(Message("switched"));
        }
        using (var client = await ConnectAsync(g.Env))
        {
            await client.SendAsync(Message("after the switch"));
        }

        Assert.Equal(2, g.Graph.Messages.Count);
        Assert.Empty(g.Env.Smtp.Messages);
        Assert.Equal(1, g.Env.Smtp.AuthenticationAttempts);
        Assert.Single(g.Proxy.Output, line => line.Contains("now sends through Microsoft Graph", StringComparison.Ordinal));
        using var http = new HttpClient();
        Assert.Contains("smtp_via = auto: Exchange refused SMTP AUTH with 5.7.139", await http.GetStringAsync(new Uri(g.Env.RedirectUri + "/")), StringComparison.Ordinal);

        // A restart remembers the switch: no SMTP login is tried again.
        await g.Proxy.StopAsync();
        var again = await g.Env.StartProxyAsync();
        using (var client = await ConnectAsync(g.Env))
        {
            await client.SendAsync(Message("after a restart"));
        }
        Assert.Equal(3, g.Graph.Messages.Count);
        Assert.Equal(1, g.Env.Smtp.AuthenticationAttempts);
        Assert.DoesNotContain(again.Output, line => line.Contains("now sends through Microsoft Graph", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Data_NoRecipientThenOverSizeAtMail_ClearRepliesNothingSent()
    {
        await using var g = await GraphEnvironment.StartAsync();
        await using var client = await LineClient.ConnectAsync(g.Env.SmtpPort);
        Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("EHLO test\r\n");
        Assert.Contains("PIPELINING", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"AUTH PLAIN {Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{User}\0{Password}"))}\r\n");
        Assert.StartsWith("235 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);

        // Pipelined: MAIL, DATA without RCPT, RSET, MAIL with a SIZE past 150 MB.
        await client.WriteAsync($"MAIL FROM:<{User}>\r\nDATA\r\nRSET\r\nMAIL FROM:<{User}> SIZE=200000000\r\nNOOP\r\n");
        Assert.StartsWith("250 2.1.0", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.StartsWith("554 5.5.1", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.StartsWith("552 5.3.4", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("BDAT 10 LAST\r\nQUIT\r\n");
        Assert.StartsWith("502 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.StartsWith("221 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        Assert.Empty(g.Graph.Messages);
        Assert.Equal(0, g.Graph.Requests);
    }

    private static async Task<SmtpClient> ConnectAsync(TestEnvironment env)
    {
        var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", env.SmtpPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(User, Password);
        return client;
    }

    private static MimeMessage Message(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(User));
        message.To.Add(MailboxAddress.Parse("customer@example.org"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = $"{subject}\r\n" };
        return message;
    }
}
