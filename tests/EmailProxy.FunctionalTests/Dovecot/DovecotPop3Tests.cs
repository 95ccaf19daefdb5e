using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Pop3;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>POP3 through the real emailproxy to the real Dovecot, judged by Dovecot's oauth2 passdb.</summary>
public sealed class DovecotPop3Tests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task Retr_LargeMessageWithDotLinesOverStls_ByteExactAsTheMaildirFile()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = DovecotMessages.Large(3 * 1024 * 1024, "POP3 " + Guid.NewGuid().ToString("N")[..8], seed: 3);
        var name = dovecot.Deliver(null, message);
        var delivered = await File.ReadAllBytesAsync(Assert.Single(dovecot.MessageFiles(null), f => f.EndsWith(name, StringComparison.Ordinal)));
        await dovecot.StartSignedInProxyAsync(env, startTls: true);
        var mark = dovecot.LogMark();

        using (var client = new Pop3Client { Timeout = (int)env.SafetyTimeout.TotalMilliseconds })
        {
            await client.ConnectAsync("127.0.0.1", env.PopPort, SecureSocketOptions.None);
            client.AuthenticationMechanisms.Clear();
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            var matches = 0;
            for (var i = 0; i < client.Count; i++)
            {
                using var stream = await client.GetStreamAsync(i);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                if (delivered.AsSpan().SequenceEqual(copy.ToArray()))
                {
                    matches++;
                }
                await client.DeleteMessageAsync(i);
            }
            Assert.Equal(1, matches);
            await client.DisconnectAsync(quit: true);
        }

        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("pop3-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
        Assert.Contains("TLS", login, StringComparison.Ordinal);
        await dovecot.WaitForLogAsync(mark, l => l.Contains("pop3(user@example.com)", StringComparison.Ordinal) && l.Contains("Disconnected: Logged out", StringComparison.Ordinal));
        Assert.DoesNotContain(dovecot.MessageFiles(null), f => f.Contains(name, StringComparison.Ordinal));
        Assert.Equal(1, env.Identity.IntrospectionRequests);
    }

    [Fact]
    public async Task Login_DovecotRefusesEveryTokenOverImplicitTls_JsonChallengeAnsweredAndClientSeesOneErr()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await dovecot.StartSignedInProxyAsync(env, startTls: false);
        dovecot.Introspection.RefuseAll = true;
        var before = dovecot.Introspection.Requests;

        await using var client = await LineClient.ConnectAsync(env.PopPort);
        Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"USER {TestEnvironment.Account}\r\n");
        Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"PASS {Password}\r\n");
        var answer = await client.ReadLineAsync();
        Assert.StartsWith("-ERR [AUTH] Account user@example.com: fake refused the OAuth2 token for user@example.com:", answer, StringComparison.Ordinal);
        Assert.Contains("Authentication failed.", answer, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"401\"", answer, StringComparison.Ordinal);
        Assert.Equal(2, dovecot.Introspection.Requests - before);
        Assert.Equal(1, env.Identity.RefreshTokenRequests);

        await client.WriteAsync("QUIT\r\n");
        Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
    }
}
