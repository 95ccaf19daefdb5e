using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.SignIn;

/// <summary>
/// flow = device_code through the real emailproxy against the in-process identity server: the client's refusal
/// carries the URL and the user code, the test enters the code as the person would, and the next login succeeds.
/// </summary>
public sealed partial class DeviceCodeSignInTests
{
    private const string Password = "any-Pa55word";

    [Fact]
    public async Task ImapLogin_DeviceCode_NoWithUrlAndCodeThenApprovedAndNextLoginSucceeds()
    {
        await using var env = await StartAsync();
        var proxy = await env.StartProxyAsync();

        var refused = await RefusedImapLoginAsync(env);
        var (url, code) = UrlAndCode(refused);
        Assert.StartsWith("Account user@example.com needs an OAuth2 sign-in with Microsoft (", refused, StringComparison.Ordinal);
        Assert.Equal($"{env.Identity.Authority}/devicelogin", url);
        Assert.Equal(env.Identity.IssuedUserCodes.Single(), code);
        var logged = await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in needed for account user@example.com with Microsoft", StringComparison.Ordinal));
        Assert.Contains($"open {url} and enter {code} (expires in 15 minutes)", logged, StringComparison.Ordinal);
        Assert.Contains("info", logged, StringComparison.Ordinal);

        env.Identity.ApproveDeviceCode(code, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await client.AuthenticateAsync(TestEnvironment.Account, Password);
            await client.DisconnectAsync(quit: true);
        }
        Assert.Equal(1, env.Imap.SuccessfulAuthentications);
        Assert.Contains(env.Identity.TokenRequests, r => r.GrantType == FakeIdentityServer.DeviceCodeGrant);
        Assert.Equal(0, env.Identity.AuthorizationCodeRequests);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("fake-dc-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SmtpAndPopLogins_DeviceCode_535AndErrCarryTheOneSharedCode()
    {
        await using var env = await StartAsync();
        await env.StartProxyAsync();

        string smtp;
        await using (var client = await LineClient.ConnectAsync(env.SmtpPort))
        {
            await client.ReadSmtpReplyAsync();
            await client.WriteAsync("EHLO test\r\n");
            await client.ReadSmtpReplyAsync();
            await client.WriteAsync($"AUTH LOGIN {B64(TestEnvironment.Account)}\r\n");
            Assert.Equal("334 UGFzc3dvcmQ6", await client.ReadSmtpReplyAsync());
            await client.WriteAsync(B64(Password) + "\r\n");
            smtp = await client.ReadSmtpReplyAsync();
        }
        string pop;
        await using (var client = await LineClient.ConnectAsync(env.PopPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"USER {TestEnvironment.Account}\r\n");
            await client.ReadLineAsync();
            await client.WriteAsync($"PASS {Password}\r\n");
            pop = await client.ReadLineAsync() ?? "";
        }

        Assert.StartsWith("535 5.7.8 ", smtp.Split('\n')[^1], StringComparison.Ordinal);
        Assert.StartsWith("-ERR [AUTH] Account user@example.com needs an OAuth2 sign-in with Microsoft", pop, StringComparison.Ordinal);
        var code = Assert.Single(env.Identity.IssuedUserCodes);
        Assert.Equal(($"{env.Identity.Authority}/devicelogin", code), UrlAndCode(SmtpText().Replace(smtp, " ")));
        Assert.Equal(($"{env.Identity.Authority}/devicelogin", code), UrlAndCode(pop));
    }

    [Fact]
    public async Task ImapLogin_AfterTheCodeWasDeclined_SaysSoAndShowsANewCode()
    {
        await using var env = await StartAsync();
        var proxy = await env.StartProxyAsync();
        var (_, first) = UrlAndCode(await RefusedImapLoginAsync(env));

        env.Identity.DeclineDeviceCode(first);
        await proxy.WaitForLineAsync(l => l.Contains("the person declined the sign-in at Microsoft", StringComparison.Ordinal));
        var refused = await RefusedImapLoginAsync(env);
        var (_, second) = UrlAndCode(refused);

        Assert.NotEqual(first, second);
        Assert.Equal([first, second], env.Identity.IssuedUserCodes);
        Assert.Contains("(the last sign-in failed: The device code sign-in of account user@example.com ended: the person declined the sign-in at Microsoft (authorization_declined", refused, StringComparison.Ordinal);
        Assert.Contains(env.Identity.DevicePolls, p => p.UserCode == first && p.Answer == "authorization_declined");

        // The new code works.
        env.Identity.ApproveDeviceCode(second, TestEnvironment.Account);
        await proxy.WaitForLineAsync(l => l.Contains("OAuth2 sign-in of account user@example.com with Microsoft succeeded", StringComparison.Ordinal));
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestEnvironment.Account, Password);
    }

    private static async Task<TestEnvironment> StartAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        env.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        env.WriteConfig(append: "flow = device_code\n");
        return env;
    }

    private static async Task<string> RefusedImapLoginAsync(TestEnvironment env)
    {
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(TestEnvironment.Account, Password));
        return refused.Message;
    }

    /// <summary>The verification URL and the user code, as a person reads them from the text.</summary>
    private static (string Url, string Code) UrlAndCode(string text)
    {
        var match = OpenAndEnter().Match(text);
        Assert.True(match.Success, $"no 'open URL and enter CODE' in: {text}");
        return (match.Groups[1].Value, match.Groups[2].Value);
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [GeneratedRegex(@"open (https?://\S+) and enter (\S+)")]
    private static partial Regex OpenAndEnter();

    /// <summary>Where an SMTP reply continues on its next line (the text is cut at spaces).</summary>
    [GeneratedRegex(@"\n\d{3}[ -](\d\.\d{1,3}\.\d{1,3} )?")]
    private static partial Regex SmtpText();
}
