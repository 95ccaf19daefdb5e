using EmailProxy.Smtp;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpUpstreamClientTests
{
    [Fact]
    public void Hint_SmtpClientAuthenticationDisabled_TellsHowToEnableSmtpAuth()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."]);

        var hint = SmtpUpstreamClient.Hint(reply);

        Assert.NotNull(hint);
        Assert.Contains("Set-CASMailbox", hint);
        Assert.Contains("-SmtpClientAuthenticationDisabled $false", hint);
    }

    [Fact]
    public void Hint_SmtpClientAuthenticationDisabledForMailbox_TellsHowToEnableSmtpAuth()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."]);

        Assert.Contains("Set-CASMailbox", SmtpUpstreamClient.Hint(reply));
    }

    [Fact]
    public void Hint_DidNotMeetTheCriteria_MentionsConditionalAccess()
    {
        var reply = new SmtpReply(535, ["5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator."]);

        var hint = SmtpUpstreamClient.Hint(reply);

        Assert.NotNull(hint);
        Assert.Contains("Conditional Access", hint);
    }

    [Fact]
    public void Hint_Plain535_MentionsSmtpSendScope()
    {
        var reply = new SmtpReply(535, ["5.7.3 Authentication unsuccessful"]);

        var hint = SmtpUpstreamClient.Hint(reply);

        Assert.NotNull(hint);
        Assert.Contains("SMTP.Send", hint);
    }

    [Fact]
    public void Hint_Positive250_IsNull()
    {
        Assert.Null(SmtpUpstreamClient.Hint(new SmtpReply(250, ["2.0.0 OK"])));
    }
}
