using EmailProxy.Configuration;
using EmailProxy.Providers;

namespace EmailProxy.Tests.Providers;

/// <summary>Every provider's and every Microsoft cloud's built-in endpoints, scopes, upstreams and Graph host.</summary>
public sealed class MicrosoftCloudTests
{
    [Theory]
    [InlineData("global", "login.microsoftonline.com", "https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office365.com/.default", "outlook.office365.com", "smtp.office365.com", "https://graph.microsoft.com/")]
    [InlineData("usgov", "login.microsoftonline.us", "https://outlook.office365.us/IMAP.AccessAsUser.All", "https://outlook.office365.us/.default", "outlook.office365.us", "smtp.office365.us", "https://graph.microsoft.us/")]
    [InlineData("usgov-dod", "login.microsoftonline.us", "https://outlook-dod.office365.us/IMAP.AccessAsUser.All", "https://outlook-dod.office365.us/.default", "outlook-dod.office365.us", "outlook-dod.office365.us", "https://dod-graph.microsoft.us/")]
    [InlineData("china", "login.partner.microsoftonline.cn", "https://partner.outlook.cn/IMAP.AccessAsUser.All", "https://partner.outlook.cn/.default", "partner.outlook.cn", "smtp.partner.outlook.cn", "https://microsoftgraph.chinacloudapi.cn/")]
    public void For_MicrosoftCloud_EndpointsScopesUpstreamAndGraphOfThatCloud(string name, string loginHost, string imapScope, string appOnlyScope, string imapHost, string smtpHost, string graph)
    {
        var cloud = MicrosoftCloud.Find(name)!;

        var endpoints = ProviderEndpoints.For(OAuthProvider.Microsoft, null, "contoso.example", cloud);

        Assert.Equal($"https://{loginHost}/contoso.example/oauth2/v2.0/authorize", endpoints.AuthorizeUrl!.AbsoluteUri);
        Assert.Equal($"https://{loginHost}/contoso.example/oauth2/v2.0/token", endpoints.TokenUrl!.AbsoluteUri);
        Assert.Equal($"https://{loginHost}/contoso.example/oauth2/v2.0/devicecode", endpoints.DeviceCodeUrl!.AbsoluteUri);
        Assert.Contains(imapScope, endpoints.Scope, StringComparison.Ordinal);
        Assert.EndsWith(" offline_access", endpoints.Scope, StringComparison.Ordinal);
        Assert.Equal(appOnlyScope, endpoints.ScopeFor(OAuthFlow.ClientCredentials));
        var upstream = ProviderEndpoints.BuiltInUpstream(OAuthProvider.Microsoft, cloud)!;
        Assert.Equal((imapHost, 993, imapHost, 995, smtpHost, 587, true, true),
            (upstream.ImapHost, upstream.ImapPort, upstream.PopHost, upstream.PopPort, upstream.SmtpHost, upstream.SmtpPort, upstream.Ssl, upstream.StartTls));
        Assert.Equal(upstream, ProviderEndpoints.FindBuiltInUpstream(upstream.Name));
        Assert.Equal(graph, cloud.GraphUrl.AbsoluteUri);
        Assert.Same(cloud, MicrosoftCloud.OfHost(imapHost));
        Assert.Same(cloud, MicrosoftCloud.OfHost(smtpHost));
    }

    /// <summary>The hosts of Microsoft's national-cloud pages (see <see cref="MicrosoftCloud"/>'s sources), each of its cloud.</summary>
    [Theory]
    [InlineData("login.partner.microsoftonline.cn", "china")]
    [InlineData("partner.outlook.cn", "china")]
    [InlineData("outlook-dod.office365.us", "usgov-dod")]
    [InlineData("webmail.apps.mil", "usgov-dod")]
    [InlineData("outlook.office365.us", "usgov")]
    [InlineData("login.microsoftonline.us", "usgov")]
    [InlineData("outlook.office365.com", "global")]
    public void OfHost_HostOfAnEndpointList_ItsCloud(string host, string cloud)
    {
        Assert.Equal(cloud, MicrosoftCloud.OfHost(host)?.Name);
    }

    [Fact]
    public void Clouds_SignInAndExchangeHosts_AsMicrosoftsNationalCloudPagesSay()
    {
        Assert.Equal("https://login.partner.microsoftonline.cn/", MicrosoftCloud.China.Authority.AbsoluteUri);
        Assert.Equal("https://login.microsoftonline.us/", MicrosoftCloud.UsGovDod.Authority.AbsoluteUri);
        // DoD: one Exchange host for IMAP, POP and SMTP submission (TCP 993, 995, 587 in its endpoint list).
        Assert.Equal(["outlook-dod.office365.us"], new[] { MicrosoftCloud.UsGovDod.ImapHost, MicrosoftCloud.UsGovDod.PopHost, MicrosoftCloud.UsGovDod.SmtpHost }.Distinct());
    }

    [Fact]
    public void For_GlobalCloud_SameAsTheDefaultsBeforeClouds()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Microsoft, null, "common");

        Assert.Equal(ProviderEndpoints.MicrosoftScope, endpoints.Scope);
        Assert.Equal(ProviderEndpoints.MicrosoftAppOnlyScope, endpoints.ScopeFor(OAuthFlow.ClientCredentials));
        Assert.Equal("https://login.microsoftonline.com/common/oauth2/v2.0/token", endpoints.TokenUrl!.AbsoluteUri);
    }

    [Fact]
    public void For_AuthorityWrittenWithACloud_AuthorityWins()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Microsoft, new Uri("http://127.0.0.1:5000"), "t", MicrosoftCloud.China);

        Assert.Equal("http://127.0.0.1:5000/t/oauth2/v2.0/token", endpoints.TokenUrl!.AbsoluteUri);
        Assert.Contains("https://partner.outlook.cn/SMTP.Send", endpoints.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void For_Google_FixedEndpointsMailScopeAndGmailUpstreamWithImplicitTlsSmtp()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Google, null, "ignored");

        Assert.Equal("https://accounts.google.com/o/oauth2/v2/auth", endpoints.AuthorizeUrl!.AbsoluteUri);
        Assert.Equal("https://oauth2.googleapis.com/token", endpoints.TokenUrl!.AbsoluteUri);
        Assert.Equal("https://oauth2.googleapis.com/device/code", endpoints.DeviceCodeUrl!.AbsoluteUri);
        Assert.Equal("https://mail.google.com/", endpoints.Scope);
        var upstream = ProviderEndpoints.BuiltInUpstream(OAuthProvider.Google, MicrosoftCloud.Global)!;
        Assert.Equal(("gmail", "imap.gmail.com", 993, "smtp.gmail.com", 465, "pop.gmail.com", 995),
            (upstream.Name, upstream.ImapHost, upstream.ImapPort, upstream.SmtpHost, upstream.SmtpPort, upstream.PopHost, upstream.PopPort));
        Assert.Equal([new("access_type", "offline"), new("prompt", "consent")], ProviderEndpoints.AuthorizeParameters(OAuthProvider.Google));
    }

    [Fact]
    public void For_Generic_NothingBuiltIn()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Generic, null, "t");

        Assert.Null(endpoints.AuthorizeUrl);
        Assert.Null(endpoints.TokenUrl);
        Assert.Null(endpoints.Scope);
        Assert.Null(ProviderEndpoints.BuiltInUpstream(OAuthProvider.Generic, MicrosoftCloud.Global));
        Assert.Empty(ProviderEndpoints.AuthorizeParameters(OAuthProvider.Generic));
        Assert.Empty(ProviderEndpoints.AuthorizeParameters(OAuthProvider.Microsoft));
    }

    [Theory]
    [InlineData("imap.gmail.com")]
    [InlineData("127.0.0.1")]
    [InlineData("mail.example.com")]
    public void OfHost_NotAnExchangeHost_Null(string host) => Assert.Null(MicrosoftCloud.OfHost(host));
    [Fact]
    public void SameOAuth_AnotherIssuerOrCloud_NotTheSame()
    {
        var account = TestSupport.TestAccounts.Create() with { Provider = OAuthProvider.Generic, TokenUrl = null, Discovery = IssuerMetadata.For(new Uri($"https://a-{Guid.NewGuid():N}.example")) };

        Assert.True(ConfigChanges.SameOAuth(account, account with { }));
        Assert.False(ConfigChanges.SameOAuth(account, account with { Discovery = IssuerMetadata.For(new Uri($"https://b-{Guid.NewGuid():N}.example")) }));
        Assert.False(ConfigChanges.SameOAuth(TestSupport.TestAccounts.Create(), TestSupport.TestAccounts.Create() with { Cloud = MicrosoftCloud.UsGov }));
    }
}
