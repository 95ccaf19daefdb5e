using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.OAuth2;

public sealed class SignInIdentityTests
{
    private const string Mail = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";

    private static AccountOptions Sales(params string[] allowIdentity) => TestAccounts.Create("sales@x") with { AllowIdentity = allowIdentity };

    private static TokenEndpointResult Tokens(object? idClaims = null, object? accessClaims = null) => new()
    {
        AccessToken = accessClaims is null ? "opaque-access-token" : TestJwt.Create(accessClaims),
        IdToken = idClaims is null ? null : TestJwt.Create(idClaims),
        RefreshToken = "refresh",
        ExpiresAt = DateTimeOffset.UnixEpoch.AddHours(1),
    };

    [Theory]
    [InlineData(nameof(OAuthProvider.Microsoft), nameof(OAuthFlow.AuthorizationCode))]
    [InlineData(nameof(OAuthProvider.Microsoft), nameof(OAuthFlow.DeviceCode))]
    [InlineData(nameof(OAuthProvider.Google), nameof(OAuthFlow.AuthorizationCode))]
    public void ScopeFor_MicrosoftOrGoogle_AddsOpenIdProfileEmail(string provider, string flow)
    {
        var account = TestAccounts.Create() with { Provider = Enum.Parse<OAuthProvider>(provider), Flow = Enum.Parse<OAuthFlow>(flow), Scope = Mail };

        Assert.Equal(Mail + " openid profile email", SignInIdentity.ScopeFor(account));
    }

    [Fact]
    public void Check_TemplateAccountTokensNameNobody_Refused()
    {
        var account = TestAccounts.Create("anna@contoso.com") with { Template = "*@contoso.com" };

        var verdict = SignInIdentity.Check(account, Tokens());

        Assert.False(verdict.Accepted);
        Assert.Contains("openid", verdict.Message, StringComparison.Ordinal);
        Assert.True(SignInIdentity.Check(account with { Template = null }, Tokens()).Accepted);
    }

    [Fact]
    public void Check_TemplateMicrosoftAccountOnlyTheEmailClaimMatches_Refused()
    {
        var account = TestAccounts.Create("anna@contoso.com") with { Template = "*@contoso.com" };
        var tokens = Tokens(new { preferred_username = "mallory@fabrikam.com", email = "anna@contoso.com" });

        Assert.False(SignInIdentity.Check(account, tokens).Accepted);
        Assert.True(SignInIdentity.Check(account, Tokens(new { preferred_username = "anna@contoso.com" })).Accepted);
        Assert.True(SignInIdentity.Check(account with { Template = null }, tokens).Accepted);
        Assert.True(SignInIdentity.Check(account with { Provider = OAuthProvider.Google }, tokens).Accepted);
    }

    [Fact]
    public void ScopeFor_SomeAlreadyAsked_AddsOnlyTheMissingOnesNeverTwice()
    {
        var account = TestAccounts.Create() with { Scope = "https://mail.google.com/  OpenID email", Provider = OAuthProvider.Google };

        var scope = SignInIdentity.ScopeFor(account);

        Assert.Equal("https://mail.google.com/ OpenID email profile", scope);
        Assert.Equal(scope, SignInIdentity.ScopeFor(account with { Scope = scope }));
    }

    [Fact]
    public void ScopeFor_AllAlreadyAsked_KeepsTheScopeAsWritten()
    {
        var account = TestAccounts.Create() with { Scope = Mail + " email openid profile" };

        Assert.Equal(Mail + " email openid profile", SignInIdentity.ScopeFor(account));
    }

    [Fact]
    public void ScopeFor_GenericWithoutOpenId_KeepsTheScope()
    {
        var account = TestAccounts.Create() with { Provider = OAuthProvider.Generic, Scope = "mail offline_access" };

        Assert.Equal("mail offline_access", SignInIdentity.ScopeFor(account));
    }

    [Fact]
    public void ScopeFor_GenericAskingOpenId_AddsProfileAndEmail()
    {
        var account = TestAccounts.Create() with { Provider = OAuthProvider.Generic, Scope = "openid mail" };

        Assert.Equal("openid mail profile email", SignInIdentity.ScopeFor(account));
    }

    [Theory]
    [InlineData(nameof(OAuthProvider.Microsoft))]
    [InlineData(nameof(OAuthProvider.Google))]
    [InlineData(nameof(OAuthProvider.Generic))]
    public void ScopeFor_ClientCredentials_KeepsTheScope(string provider)
    {
        var account = TestAccounts.Create() with { Provider = Enum.Parse<OAuthProvider>(provider), Flow = OAuthFlow.ClientCredentials, Scope = "https://outlook.office365.com/.default" };

        Assert.Equal("https://outlook.office365.com/.default", SignInIdentity.ScopeFor(account));
    }

    [Fact]
    public void Check_IdTokenPreferredUsernameIsTheUsername_AcceptedAsThem()
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "sales@x", email = "other@x" }));

        Assert.True(verdict.Accepted);
        Assert.Equal("sales@x", verdict.Identity);
        Assert.Null(verdict.Message);
    }

    [Fact]
    public void Check_OnlyIdTokenEmailIsTheUsername_AcceptedNamedByPreferredUsername()
    {
        // Entra: the UPN (preferred_username) differs from the mailbox address.
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "s.ales@x.onmicrosoft.com", email = "SALES@X" }));

        Assert.True(verdict.Accepted);
        Assert.Equal("s.ales@x.onmicrosoft.com", verdict.Identity);
    }

    [Fact]
    public void Check_GoogleIdTokenWithEmailOnly_Accepted()
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { email = "sales@x", email_verified = true }));

        Assert.True(verdict.Accepted);
        Assert.Equal("sales@x", verdict.Identity);
    }

    [Theory]
    [InlineData("upn")]
    [InlineData("unique_name")]
    public void Check_JwtAccessTokenNamesTheUsername_Accepted(string claim)
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(accessClaims: new Dictionary<string, string> { [claim] = "Sales@X" }));

        Assert.True(verdict.Accepted);
        Assert.Equal("Sales@X", verdict.Identity);
    }

    [Fact]
    public void Check_IdTokenOtherButAccessTokenUpnMatches_Accepted()
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "alias@x" }, new { upn = "sales@x" }));

        Assert.True(verdict.Accepted);
        Assert.Equal("alias@x", verdict.Identity);
    }

    [Fact]
    public void Check_CaseDiffers_Accepted()
    {
        Assert.True(SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "SaLeS@X" })).Accepted);
    }

    [Fact]
    public void Check_DelegateInAllowIdentity_AcceptedAsTheDelegate()
    {
        var verdict = SignInIdentity.Check(Sales("alice@x", "Bob@X"), Tokens(new { preferred_username = "bob@x" }));

        Assert.True(verdict.Accepted);
        Assert.Equal("bob@x", verdict.Identity);
    }

    [Fact]
    public void Check_SomeoneElse_RefusedWithTheIssuesWords()
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "bob@x", email = "bob@x" }, new { upn = "bob@x" }));

        Assert.False(verdict.Accepted);
        Assert.Equal("bob@x", verdict.Identity);
        Assert.Equal(
            "signed in as bob@x, but this account is sales@x: sign in again as sales@x, or add `allow_identity = bob@x` to [account sales@x] if bob may use it",
            verdict.Message);
    }

    [Fact]
    public void Check_SomeoneElseOnAnAccountWithOwnUsername_NamesTheSectionAndTheUsername()
    {
        var account = TestAccounts.Create("crm") with { Username = "sales@x", AllowIdentity = ["alice@x"] };

        var verdict = SignInIdentity.Check(account, Tokens(new { email = "bob@x" }));

        Assert.Equal(
            "signed in as bob@x, but this account is sales@x: sign in again as sales@x, or add `allow_identity = bob@x` to [account crm] if bob may use it",
            verdict.Message);
    }

    [Theory]
    [InlineData("sales@x.evil")]
    [InlineData("evil-sales@x")]
    [InlineData("sales@x ")]
    [InlineData("sales")]
    public void Check_NearlyTheUsername_Refused(string who)
    {
        Assert.False(SignInIdentity.Check(Sales(), Tokens(new { preferred_username = who }, new { upn = who })).Accepted);
    }

    [Fact]
    public void Check_IdentityWithLineBreaksAndBidiOverrides_IsSanitizedInTheMessage()
    {
        var verdict = SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "bob@x\r\nforged: line\u202E" }));

        Assert.False(verdict.Accepted);
        Assert.DoesNotContain('\n', verdict.Message!);
        Assert.DoesNotContain('\u202E', verdict.Message!);
        Assert.StartsWith("signed in as bob@x?forged: line?, but", verdict.Message, StringComparison.Ordinal);
        Assert.Equal("bob@x?forged: line?", verdict.Identity);
    }

    [Fact]
    public void Check_NothingSaysWhoSignedIn_AcceptedUnknownWithAWarning()
    {
        using var log = new RecordingLoggerProvider();

        var verdict = SignInIdentity.Check(Sales(), Tokens(), log.CreateLogger("test"));

        Assert.True(verdict.Accepted);
        Assert.Null(verdict.Identity);
        var warning = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("do not say who signed in", warning.Message, StringComparison.Ordinal);
        Assert.Contains("sales@x", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_KnownIdentity_LogsNothing()
    {
        using var log = new RecordingLoggerProvider();

        SignInIdentity.Check(Sales(), Tokens(new { preferred_username = "sales@x" }), log.CreateLogger("test"));

        Assert.Empty(log.Entries);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJub25lIn0.bm90IGpzb24.")]
    [InlineData("eyJhbGciOiJub25lIn0.WzEsMl0.")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOjQyfQ.")]
    public void Check_MalformedIdTokenAndOpaqueAccessToken_UnknownIdentityNoException(string idToken)
    {
        var tokens = Tokens() with { IdToken = idToken };

        var verdict = SignInIdentity.Check(Sales(), tokens);

        Assert.True(verdict.Accepted);
        Assert.Null(verdict.Identity);
    }

    [Fact]
    public void Check_HugeIdToken_IsNotReadButTheAccessTokenStillIs()
    {
        var huge = TestJwt.Create(new { preferred_username = "bob@x", filler = new string('x', 100_000) });

        var verdict = SignInIdentity.Check(Sales(), Tokens(accessClaims: new { upn = "sales@x" }) with { IdToken = huge });

        Assert.True(verdict.Accepted);
        Assert.Equal("sales@x", verdict.Identity);
    }

    [Fact]
    public void Check_DeeplyNestedIdToken_UnknownIdentity()
    {
        var deep = new string('[', 5000) + new string(']', 5000);

        var verdict = SignInIdentity.Check(Sales(), Tokens() with { IdToken = TestJwt.Create($"{{\"preferred_username\":\"bob@x\",\"x\":{deep}}}") });

        Assert.True(verdict.Accepted);
        Assert.Null(verdict.Identity);
    }
}
