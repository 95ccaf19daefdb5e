using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Providers;

/// <summary>Gmail's refusals mapped to what the person or the Workspace administrator does.</summary>
public sealed class GoogleHintTests
{
    private static readonly AccountOptions Google = TestAccounts.Create("me@gmail.com") with { Provider = OAuthProvider.Google, Scope = "https://mail.google.com/", ServerName = "gmail" };

    private static MailProtocol Of(string protocol) => protocol switch
    {
        "IMAP" => SessionHarness.Imap(),
        "SMTP" => SessionHarness.Smtp(),
        _ => SessionHarness.Pop3(),
    };

    [Theory]
    [InlineData("IMAP", "[ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your account for IMAP access.", "in Gmail, Settings, See all settings, Forwarding and POP/IMAP, enable IMAP")]
    [InlineData("POP3", "[SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your account for POP access.", "enable POP and save")]
    [InlineData("IMAP", "[ALERT] IMAP access is disabled for your domain. Please contact your domain administrator for questions about this feature.", "Google Workspace administrator has switched IMAP off")]
    [InlineData("POP3", "[SYS/PERM] POP access is disabled for your domain. Please contact your domain administrator.", "turn on \"POP access\"")]
    [InlineData("IMAP", "[AUTHENTICATIONFAILED] Invalid credentials (Failure) ({\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"})", "App access control")]
    [InlineData("SMTP", "535 5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials", "the scope is https://mail.google.com/")]
    public void HintFor_GmailRefusal_TheFix(string protocol, string rejection, string fix)
    {
        Assert.Contains(fix, ProviderErrorMapping.HintFor(Google, Of(protocol), rejection), StringComparison.Ordinal);
    }

    [Fact]
    public void RefreshRefusalHint_Google_TheSevenDaysOfTesting()
    {
        var hint = ProviderErrorMapping.RefreshRefusalHint(Google);

        Assert.StartsWith("; Google revokes the refresh tokens of an OAuth app whose consent screen is still in \"Testing\" 7 days", hint, StringComparison.Ordinal);
        Assert.Contains("\"In production\"", hint, StringComparison.Ordinal);
        Assert.Equal("", ProviderErrorMapping.RefreshRefusalHint(TestAccounts.Create()));
    }
}
