using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// A web page can make a browser POST to a mail port on loopback. The request's body lines must
/// never run as mail commands: through the real proxy, with a signed-in account that has no
/// password_hash (so that a LOGIN in the body would succeed), every port closes at the request
/// line, and nothing reaches the upstream servers.
/// </summary>
public sealed class CrossProtocolTests
{
    private const string Refusal = "This is a mail port, not a web server; closing";

    [Fact]
    public async Task HttpPost_WithMailCommandsInItsBody_RefusedOnEveryPortAndNothingDeliveredOrAppended()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await SignInAsync(env, proxy);
        var message = "From: a@example.com\r\nTo: b@example.org\r\nSubject: cross-protocol\r\n\r\nfrom a web page\r\n";
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{TestEnvironment.Account}\0any"));

        var imap = await PostAsync(env.ImapPort,
            $"a1 LOGIN {TestEnvironment.Account} any\r\na2 APPEND INBOX {{{Encoding.UTF8.GetByteCount(message)}+}}\r\n{message}\r\na3 LOGOUT\r\n");
        var smtp = await PostAsync(env.SmtpPort,
            $"EHLO evil.example\r\nAUTH PLAIN {plain}\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n{message}.\r\nQUIT\r\n");
        var pop = await PostAsync(env.PopPort, $"USER {TestEnvironment.Account}\r\nPASS any\r\nDELE 1\r\nQUIT\r\n");

        Assert.Equal("* BYE " + Refusal, imap);
        Assert.Equal("421 4.7.0 " + Refusal, smtp);
        Assert.Equal("-ERR " + Refusal, pop);
        var closed = 0;
        await proxy.WaitForLineAsync(l => l.Contains("closed: looked like an HTTP request", StringComparison.Ordinal) && ++closed == 3);
        Assert.Empty(env.Smtp.Messages);
        Assert.Empty(env.Imap.AppendedMessages);
        Assert.Equal(0, env.Imap.AuthenticationAttempts);
        Assert.Equal(0, env.Smtp.AuthenticationAttempts);
        Assert.Equal(0, env.Pop.AuthenticationAttempts);
    }

    /// <summary>A first login asks for the sign-in, which the test then does as a person would.</summary>
    private static async Task SignInAsync(TestEnvironment env, ProxyProcess proxy)
    {
        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, "any"));
        }
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
    }

    /// <summary>Sends what a browser sends for a form post, and returns the last line the port answered before it closed.</summary>
    private static async Task<string?> PostAsync(int port, string body)
    {
        await using var client = await LineClient.ConnectAsync(port);
        await client.WriteAsync(
            $"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");
        string? last = null;
        try
        {
            while (await client.ReadLineAsync() is { } line)
            {
                last = line;
            }
        }
        catch (IOException)
        {
            // Reset: the proxy closed with the rest of the request unread.
        }
        return last;
    }
}
