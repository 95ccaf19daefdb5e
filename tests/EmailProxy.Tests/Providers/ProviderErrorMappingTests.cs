using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Providers;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Providers;

public sealed class ProviderErrorMappingTests
{
    private static readonly AccountOptions Microsoft = TestAccounts.Create();

    private static string? Smtp(SmtpReply reply, AccountOptions? account = null) =>
        ProviderErrorMapping.HintFor(account ?? Microsoft, SessionHarness.Smtp(), reply.ToString());

    [Fact]
    public void HintFor_SmtpClientAuthenticationDisabled_TellsHowToEnableSmtpAuth()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."]);

        var hint = Smtp(reply);

        Assert.NotNull(hint);
        Assert.Contains("Set-CASMailbox", hint);
        Assert.Contains("-SmtpClientAuthenticationDisabled $false", hint);
    }

    [Fact]
    public void HintFor_SmtpClientAuthenticationDisabledForMailbox_TellsHowToEnableSmtpAuth()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."]);

        Assert.Contains("Set-CASMailbox", Smtp(reply));
    }

    [Fact]
    public void HintFor_SmtpDidNotMeetTheCriteria_MentionsConditionalAccess()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator."]);

        var hint = Smtp(reply);

        Assert.NotNull(hint);
        Assert.Contains("Conditional Access", hint);
    }

    [Fact]
    public void HintFor_SmtpPlain535_MentionsSmtpSendScope()
    {
        var hint = Smtp(new SmtpReply(535, ["5.7.3 Authentication unsuccessful"]));

        Assert.NotNull(hint);
        Assert.Contains("SMTP.Send", hint);
    }

    [Fact]
    public void HintFor_SmtpPositive250_IsNull()
    {
        Assert.Null(Smtp(new SmtpReply(250, ["2.0.0 OK"])));
    }

    [Fact]
    public void HintFor_ImapAuthenticateFailed_MentionsImapScope()
    {
        var hint = ProviderErrorMapping.HintFor(Microsoft, SessionHarness.Imap(), "[AUTHENTICATIONFAILED] AUTHENTICATE failed.");

        Assert.NotNull(hint);
        Assert.Contains("https://outlook.office.com/IMAP.AccessAsUser.All", hint);
    }

    [Fact]
    public void HintFor_ImapOtherRefusal_IsNull()
    {
        Assert.Null(ProviderErrorMapping.HintFor(Microsoft, SessionHarness.Imap(), "[UNAVAILABLE] try later"));
    }

    [Fact]
    public void HintFor_Pop3Refusal_MentionsPopScope()
    {
        var hint = ProviderErrorMapping.HintFor(Microsoft, SessionHarness.Pop3(), "[AUTH] Authentication failure");

        Assert.NotNull(hint);
        Assert.Contains("POP.AccessAsUser.All", hint);
    }

    [Theory]
    [InlineData("IMAP")]
    [InlineData("SMTP")]
    [InlineData("POP3")]
    public void HintFor_ScopeForGraph_SaysToUseOutlookOfficeCom(string protocol)
    {
        var account = TestAccounts.Create() with { Scope = "https://graph.microsoft.com/IMAP.AccessAsUser.All offline_access" };

        var hint = ProviderErrorMapping.HintFor(account, Of(protocol), "535 5.7.3 Authentication unsuccessful");

        Assert.Equal(
            $"The account's scope asks for graph.microsoft.com, whose tokens Exchange refuses for IMAP, POP and SMTP: set scope to https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access in [account {account.Name}] and sign in again.",
            hint);
    }

    [Theory]
    [InlineData("google", "IMAP", "[AUTHENTICATIONFAILED] AUTHENTICATE failed.")]
    [InlineData("google", "SMTP", "535 5.7.8 Username and Password not accepted")]
    [InlineData("generic", "POP3", "[AUTH] Authentication failure")]
    public void HintFor_NotMicrosoft_HasNoExchangeHint(string provider, string protocol, string rejection)
    {
        var account = TestAccounts.Create() with { Provider = Enum.Parse<OAuthProvider>(provider, ignoreCase: true), Scope = "https://mail.google.com/" };

        // Google's refusals have hints of their own (ProviderHintTests), never Exchange's; a generic provider has none.
        var hint = ProviderErrorMapping.HintFor(account, Of(protocol), rejection);
        Assert.DoesNotContain("Exchange", hint ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain("outlook.office.com", hint ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain("Set-CASMailbox", hint ?? "", StringComparison.Ordinal);
        if (account.Provider == OAuthProvider.Generic)
        {
            Assert.Null(hint);
        }
    }

    private static MailProtocol Of(string protocol) => protocol switch
    {
        "IMAP" => SessionHarness.Imap(),
        "SMTP" => SessionHarness.Smtp(),
        _ => SessionHarness.Pop3(),
    };
}
