using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary><c>token_from</c>: a shared mailbox that uses a delegate's sign-in, as the configuration reader checks it.</summary>
public sealed class TokenFromConfigTests : IDisposable
{
    private const string Delegate = """
        [server s]
        imap_host = imap.example.com

        [account me@contoso.com]
        client_id = delegate-app
        tenant = contoso.com

        """;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string ini) => ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));

    private static string TokenFromError(ConfigReadResult read, string section) =>
        Assert.Single(read.Errors, error => error.ToString().StartsWith($"[account {section}] token_from", StringComparison.Ordinal)).ToString();

    [Fact]
    public void Read_SharedMailboxes_UseTheDelegatesOAuthSettingsAndTheirOwnUsername()
    {
        var read = Read(Delegate + "[account sales@contoso.com]\ntoken_from = me@contoso.com\n\n[account info]\nusername = info@contoso.com\ntoken_from = ME@contoso.com\n");

        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        var sales = read.Config!.FindAccount("sales@contoso.com")!;
        Assert.Equal("me@contoso.com", sales.TokenFrom);
        Assert.Equal("me@contoso.com", sales.TokenAccountName);
        Assert.Equal("sales@contoso.com", sales.Username);
        Assert.Equal("delegate-app", sales.ClientId);
        Assert.Equal("contoso.com", sales.Tenant);
        var info = read.Config.FindAccount("info")!;
        Assert.Equal("info@contoso.com", info.Username);
        Assert.Equal("me@contoso.com", info.TokenFrom);
    }

    [Fact]
    public void Read_DelegateInANationalCloud_SharedMailboxSignsInThere()
    {
        var read = Read("""
            [account me@contoso.us]
            client_id = delegate-app
            cloud = usgov

            [account sales@contoso.us]
            token_from = me@contoso.us

            """);

        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        var sales = read.Config!.FindAccount("sales@contoso.us")!;
        Assert.Equal(EmailProxy.Providers.MicrosoftCloud.UsGov, sales.Cloud);
        Assert.Equal(read.Config.FindAccount("me@contoso.us")!.TokenUrl, sales.TokenUrl);
        Assert.Equal(EmailProxy.Providers.MicrosoftCloud.UsGov.Upstream.Name, sales.ServerName);
    }

    [Fact]
    public void Read_Loop_IsAnErrorNamingBothAccounts()
    {
        var read = Read(Delegate + "[account a]\ntoken_from = b\n\n[account b]\ntoken_from = a\n");

        Assert.False(read.IsValid);
        Assert.Contains("is a loop", TokenFromError(read, "a"), StringComparison.Ordinal);
        Assert.Contains("[account b]", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ItselfNamed_IsAnError()
    {
        var read = Read(Delegate + "[account a]\nclient_id = x\ntoken_from = A\n");

        Assert.Contains("names the account itself", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Chain_IsAnErrorNamingTheAccountToUseDirectly()
    {
        var read = Read(Delegate + "[account a]\ntoken_from = b\n\n[account b]\ntoken_from = me@contoso.com\n");

        Assert.False(read.IsValid);
        Assert.Contains("write token_from = me@contoso.com", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingTarget_IsAnError()
    {
        var read = Read(Delegate + "[account a]\ntoken_from = nobody\n");

        Assert.Contains("there is no [account nobody] section", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TargetIsATemplate_IsAnError()
    {
        var read = Read(Delegate + "[account *@fabrikam.com]\nclient_id = x\n\n[account a]\ntoken_from = *@fabrikam.com\n");

        Assert.Contains("names a template", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TargetIsAppOnly_IsAnError()
    {
        var read = Read(Delegate + "[account app]\nclient_id = x\nclient_secret = s\nflow = client_credentials\nscope = https://outlook.office365.com/.default\n\n[account a]\ntoken_from = app\n");

        Assert.Contains("app-only", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SharingAccountIsAppOnly_IsAnError()
    {
        var read = Read(Delegate + "[account a]\nclient_id = x\nclient_secret = s\nflow = client_credentials\nscope = https://outlook.office365.com/.default\ntoken_from = me@contoso.com\n");

        Assert.Contains("flow = client_credentials", TokenFromError(read, "a"), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OwnClientIdBesideTokenFrom_IsAWarning()
    {
        var read = Read(Delegate + "[account a]\nclient_id = other-app\ntoken_from = me@contoso.com\n");

        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        Assert.Contains(read.Warnings, warning => warning.ToString().StartsWith("[account a] client_id", StringComparison.Ordinal));
    }
}
