using EmailProxy.Configuration;
using EmailProxy.Graph;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Graph;

public sealed class GraphConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string accountLines, string flow = "") =>
        ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config",
            $"[server s]\nsmtp_host = smtp.example.com\n\n[account user@example.com]\nclient_id = id\n{flow}{accountLines}\n"));

    [Fact]
    public void ReadFile_NoGraphKeys_SmtpAndDefaults()
    {
        var account = Read("").Config!.Accounts["user@example.com"];

        Assert.Equal(SmtpVia.Smtp, account.SmtpVia);
        Assert.Equal(new Uri("https://graph.microsoft.com"), account.GraphUrl);
        Assert.Null(account.GraphScope);
        Assert.True(account.GraphSaveToSentItems);
        Assert.False(account.MayUseGraph);
    }

    [Theory]
    [InlineData("graph", "Graph")]
    [InlineData("AUTO", "Auto")]
    [InlineData("smtp", "Smtp")]
    public void ReadFile_SmtpVia_Read(string value, string expected)
    {
        var result = Read($"smtp_via = {value}\ngraph_url = https://graph.microsoft.us\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        // The proxy's own Graph scope is not the account's scope: the "two resources" lint stays quiet.
        Assert.Empty(result.Warnings);
        var account = result.Config!.Accounts["user@example.com"];
        Assert.Equal(expected, account.SmtpVia.ToString());
        Assert.False(account.ScopeTargetsGraph);
        Assert.Equal(new Uri("https://graph.microsoft.us"), account.GraphUrl);
    }

    [Fact]
    public void ReadFile_SmtpViaUnknown_ErrorNamingTheChoices()
    {
        var result = Read("smtp_via = ews\n");

        Assert.False(result.IsValid);
        Assert.Contains("smtp, graph, auto", Assert.Single(result.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_GraphWithGoogle_Error()
    {
        var result = Read("provider = google\nsmtp_via = graph\n");

        Assert.False(result.IsValid);
        Assert.Contains("Microsoft 365", Assert.Single(result.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_SaveToSentItemsFalse_TakenWithoutAWarning()
    {
        var result = Read("smtp_via = graph\ngraph_save_to_sent_items = false\n");

        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        Assert.False(result.Config!.Accounts["user@example.com"].GraphSaveToSentItems);
    }

    [Fact]
    public void ScopeFor_SmtpViaGraph_AuthorizeAlsoNamesGraphMailSendAndMailScopesComeFirst()
    {
        var account = Read("smtp_via = graph\n").Config!.Accounts["user@example.com"];

        var scopes = SignInIdentity.ScopeFor(account).Split(' ');

        Assert.Contains(GraphScopes.MailSend, scopes);
        Assert.StartsWith("https://outlook.office.com/", scopes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(GraphScopes.MailSend, account.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void ScopeFor_SmtpViaSmtp_NoGraphScope()
    {
        var account = Read("").Config!.Accounts["user@example.com"];

        Assert.DoesNotContain("graph.microsoft.com", SignInIdentity.ScopeFor(account), StringComparison.Ordinal);
    }

    [Fact]
    public void GraphScopesFor_DelegatedOwnMailboxDelegateAndAppOnly_MailSendSharedAndDefault()
    {
        var delegated = Read("smtp_via = graph\n").Config!.Accounts["user@example.com"];
        var appOnly = Read("smtp_via = graph\n", "flow = client_credentials\nclient_secret = s\n").Config!.Accounts["user@example.com"];

        Assert.Equal(GraphScopes.MailSend, GraphScopes.For(delegated, "USER@example.com"));
        Assert.Equal(GraphScopes.MailSend, GraphScopes.For(delegated, null));
        Assert.Equal(GraphScopes.MailSendShared, GraphScopes.For(delegated, "delegate@example.com"));
        Assert.Equal(GraphScopes.AppDefault, GraphScopes.For(appOnly, null));
        Assert.Equal("custom", GraphScopes.For(delegated with { GraphScope = "custom" }, "delegate@example.com"));
    }

    [Fact]
    public void ReadFile_NationalCloud_ItsGraphHostAndScopes()
    {
        var delegated = Read("smtp_via = graph\ncloud = usgov\n").Config!.Accounts["user@example.com"];
        var appOnly = Read("smtp_via = graph\ncloud = china\n", "flow = client_credentials\nclient_secret = s\n").Config!.Accounts["user@example.com"];
        var written = Read("smtp_via = graph\ncloud = usgov\ngraph_url = https://127.0.0.1:8443\n").Config!.Accounts["user@example.com"];

        Assert.Equal(new Uri("https://graph.microsoft.us"), delegated.GraphUrl);
        Assert.Equal("https://graph.microsoft.us/Mail.Send", GraphScopes.For(delegated, null));
        Assert.Equal("https://graph.microsoft.us/Mail.Send.Shared", GraphScopes.For(delegated, "delegate@example.com"));
        Assert.Equal(["https://graph.microsoft.us/Mail.Send"], GraphScopes.ForAuthorize(delegated));
        Assert.True(GraphScopes.IsProxyGraphScope("https://graph.microsoft.us/Mail.Send"));
        Assert.Equal("https://microsoftgraph.chinacloudapi.cn/.default", GraphScopes.For(appOnly, null));
        Assert.Equal(new Uri("https://127.0.0.1:8443"), written.GraphUrl);
    }

    [Fact]
    public void CheckNote_DelegatedAndAppOnly_NameThePermissionAndThePolicy()
    {
        var delegated = Read("smtp_via = graph\n").Config!.Accounts["user@example.com"];
        var appOnly = Read("smtp_via = auto\n", "flow = client_credentials\nclient_secret = s\ntenant = contoso.onmicrosoft.com\n").Config!.Accounts["user@example.com"];

        var note = GraphFixes.CheckNote(delegated);
        Assert.Contains("delegated permission Mail.Send", note, StringComparison.Ordinal);
        Assert.Contains("do not put it in scope", note, StringComparison.Ordinal);
        var appNote = GraphFixes.CheckNote(appOnly);
        Assert.Contains("after Exchange refuses SMTP AUTH (5.7.139)", appNote, StringComparison.Ordinal);
        Assert.Contains("application permission Mail.Send", appNote, StringComparison.Ordinal);
        Assert.Contains("New-ApplicationAccessPolicy", appNote, StringComparison.Ordinal);
    }
}
