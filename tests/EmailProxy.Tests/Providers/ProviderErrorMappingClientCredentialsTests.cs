using EmailProxy.Configuration;
using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Providers;

/// <summary>The fixes said for an app-only (client credentials) account: token endpoint refusals by AADSTS code, and Exchange's refusals of the app's token.</summary>
public sealed class ProviderErrorMappingClientCredentialsTests
{
    private static readonly AccountOptions App = TestAccounts.Create("shared@contoso.example") with
    {
        Flow = OAuthFlow.ClientCredentials,
        ClientSecret = "s",
        Scope = ProviderEndpoints.MicrosoftAppOnlyScope,
    };

    [Theory]
    [InlineData("invalid_client: AADSTS7000215: Invalid client secret provided.", "secret's Value", "not its Secret ID")]
    [InlineData("invalid_client: AADSTS7000222: The provided client secret keys for app '…' are expired.", "has expired", "Certificates & secrets")]
    [InlineData("invalid_client: AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.", "upload the certificate", "clock")]
    [InlineData("unauthorized_client: AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.", "client_id", "Application (client) ID")]
    [InlineData("invalid_request: AADSTS90002: Tenant 'y' not found.", "tenant", "Directory (tenant) ID")]
    [InlineData("invalid_client: AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", "client_secret", "client_certificate and client_key")]
    [InlineData("invalid_scope: AADSTS1002012: The provided value for scope is not valid.", "scope", ProviderEndpoints.MicrosoftAppOnlyScope)]
    public void TokenRequestFix_KnownRefusal_SaysTheFixInThisAccountsTerms(string error, string first, string second)
    {
        var fix = ProviderErrorMapping.TokenRequestFix(App, error);

        Assert.NotNull(fix);
        Assert.Contains(first, fix, StringComparison.Ordinal);
        Assert.Contains(second, fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("invalid_client: AADSTS70002: something else")]
    [InlineData("the token endpoint did not answer: no answer within 30 seconds")]
    public void TokenRequestFix_UnknownRefusal_Null(string error) => Assert.Null(ProviderErrorMapping.TokenRequestFix(App, error));

    [Fact]
    public void TokenRequestFix_ErrorOfTheSecretNamesTheAccountsSection() =>
        Assert.Contains("[account shared@contoso.example]", ProviderErrorMapping.TokenRequestFix(App, "invalid_client: AADSTS7000215: Invalid client secret provided."), StringComparison.Ordinal);

    [Fact]
    public void HintFor_ImapNotConnected_NamesTheCmdletsWithThisAccountsValues()
    {
        var hint = ProviderErrorMapping.HintFor(App, SessionHarness.Imap(), "NO User is authenticated but not connected.");

        Assert.NotNull(hint);
        Assert.Contains($"New-ServicePrincipal -AppId {TestAccounts.ClientId} -ObjectId <", hint, StringComparison.Ordinal);
        Assert.Contains("Add-MailboxPermission -Identity shared@contoso.example -User <", hint, StringComparison.Ordinal);
        Assert.Contains("-AccessRights FullAccess", hint, StringComparison.Ordinal);
        Assert.Contains("IMAP.AccessAsApp", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void HintFor_SmtpAuthenticationUnsuccessfulForAnApp_NamesTheCmdletsAndSmtpSendAsApp()
    {
        var hint = ProviderErrorMapping.HintFor(App, SessionHarness.Smtp(), "535 5.7.3 Authentication unsuccessful");

        Assert.NotNull(hint);
        Assert.Contains("New-ServicePrincipal", hint, StringComparison.Ordinal);
        Assert.Contains("SMTP.SendAsApp", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void HintFor_SmtpAuthDisabledForAnApp_StillTheSmtpAuthFix() =>
        Assert.Contains("Set-CASMailbox", ProviderErrorMapping.HintFor(App, SessionHarness.Smtp(), "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."), StringComparison.Ordinal);

    [Fact]
    public void HintFor_DelegatedAccountAuthenticateFailed_TextUnchanged() =>
        Assert.Equal(
            "Check that username is the mailbox's address, that IMAP is enabled for the mailbox, and that the token's scope is https://outlook.office.com/IMAP.AccessAsUser.All (not graph.microsoft.com).",
            ProviderErrorMapping.HintFor(TestAccounts.Create(), SessionHarness.Imap(), "NO AUTHENTICATE failed."));
}
