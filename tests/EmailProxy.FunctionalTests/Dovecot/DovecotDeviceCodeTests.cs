using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// flow = device_code against the real Dovecot: the account is signed in with a device code the test enters as
/// the person would, and Dovecot's oauth2 passdb accepts the token that sign-in gave.
/// </summary>
public sealed class DovecotDeviceCodeTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task ImapLogin_DeviceCodeSignIn_DovecotAcceptsTheToken()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        dovecot.Introspection.RefuseAll = false;
        dovecot.Introspection.Use(env.Identity);
        // IMAP to Dovecot's implicit-TLS port, as DovecotFixture.StartSignedInProxyAsync points it, and a device-code account.
        env.WriteConfig(
            append: "flow = device_code\n",
            transform: text => text
                .Replace($"imap_port = {env.Imap.Port}", $"imap_port = {dovecot.ImapsPort}", StringComparison.Ordinal)
                .Replace($"ca_file = {env.CaFile}", $"ca_file = {env.CaFile}\nssl = true", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        var mark = dovecot.LogMark();

        string refused;
        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            refused = (await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password))).Message;
        }
        var code = Assert.Single(env.Identity.IssuedUserCodes);
        Assert.Contains($"open {env.Identity.Authority}/devicelogin and enter {code}", refused, StringComparison.Ordinal);
        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            await client.DisconnectAsync(quit: true);
        }
        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
        Assert.Equal(0, env.Imap.ConnectionCount);
    }
}
