using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Providers;

/// <summary>Exchange's Send As refusals and a shared mailbox's (token_from) refused login: the permission and its cmdlet.</summary>
public sealed class ProviderErrorMappingSharedMailboxTests
{
    private static readonly EmailProxy.Configuration.AccountOptions Shared =
        TestAccounts.Create("info@example.com") with { TokenFrom = "me@example.com" };

    [Theory]
    [InlineData("550 5.7.60 SMTP; Client does not have permissions to send as this sender")]
    [InlineData("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.")]
    [InlineData("550 5.7.1 You are not allowed to send as this address")]
    public void SendAsFix_ExchangesSendAsRefusals_NameAddRecipientPermissionForTheMailbox(string reply)
    {
        var fix = ProviderErrorMapping.SendAsFix(Shared, reply, "me@example.com");

        Assert.NotNull(fix);
        Assert.Contains("Add-RecipientPermission -Identity info@example.com -Trustee me@example.com -AccessRights SendAs", fix, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity info@example.com -User me@example.com -AccessRights FullAccess", fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("550 5.1.1 User unknown")]
    [InlineData("535 5.7.3 Authentication unsuccessful")]
    public void SendAsFix_OtherReplies_Null(string reply) =>
        Assert.Null(ProviderErrorMapping.SendAsFix(Shared, reply));

    [Fact]
    public void HintFor_SharedMailboxImapRefused_NamesFullAccessAndTheDelegatesAccount()
    {
        var hint = ProviderErrorMapping.HintFor(Shared, SessionHarness.Imap(), "NO AUTHENTICATE failed.");

        Assert.Contains("with the sign-in of account me@example.com", hint, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity info@example.com", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void HintFor_SharedMailboxSmtpSendAsDenied_NamesSendAs() =>
        Assert.Contains("-AccessRights SendAs",
            ProviderErrorMapping.HintFor(Shared, SessionHarness.Smtp(), "550 5.7.60 SMTP; Client does not have permissions to send as this sender"), StringComparison.Ordinal);
}
