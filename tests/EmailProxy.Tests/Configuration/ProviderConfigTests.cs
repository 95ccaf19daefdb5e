using EmailProxy.Configuration;
using EmailProxy.Providers;
using EmailProxy.Sasl;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary>provider, cloud, issuer and sasl read from files: built-in upstreams, clouds, bad values and check's lines.</summary>
public sealed class ProviderConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string ini) => ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));

    private static ConfigProblem? Warning(ConfigReadResult result, string key, string text) =>
        result.Warnings.SingleOrDefault(w => w.Key == key && w.Message.Contains(text, StringComparison.Ordinal));

    [Fact]
    public void ReadFile_GoogleAccountWithoutServer_UsesGmailEvenBesideAnotherServer()
    {
        var result = Read("[server corp]\nimap_host = imap.corp.example\n[account me@gmail.com]\nprovider = google\nclient_id = id\nclient_secret = s\n");

        var config = Assert.IsType<ProxyConfig>(result.Config);
        var account = config.Accounts["me@gmail.com"];
        Assert.Equal("gmail", account.ServerName);
        var gmail = config.Servers["gmail"];
        Assert.Equal(("imap.gmail.com", 993, "smtp.gmail.com", 465, "pop.gmail.com", 995), (gmail.ImapHost, gmail.ImapPort, gmail.SmtpHost, gmail.SmtpPort, gmail.PopHost, gmail.PopPort));
        Assert.Equal("https://mail.google.com/", account.Scope);
        Assert.Equal("https://accounts.google.com/o/oauth2/v2/auth", account.AuthorizeUrl!.AbsoluteUri);
    }

    [Fact]
    public void ReadFile_MicrosoftAccountWithTheOnlyServer_KeepsIt()
    {
        var result = Read("[server corp]\nimap_host = 127.0.0.1\n[account a]\nclient_id = id\n");

        Assert.Equal("corp", result.Config!.Accounts["a"].ServerName);
        Assert.False(result.Config.Servers.ContainsKey("microsoft"));
    }

    [Theory]
    [InlineData("", "microsoft", "outlook.office365.com", "smtp.office365.com", "login.microsoftonline.com")]
    [InlineData("cloud = usgov\n", "microsoft-usgov", "outlook.office365.us", "smtp.office365.us", "login.microsoftonline.us")]
    [InlineData("cloud = USGOV-DOD\n", "microsoft-usgov-dod", "outlook-dod.office365.us", "outlook-dod.office365.us", "login.microsoftonline.us")]
    [InlineData("cloud = china\n", "microsoft-china", "partner.outlook.cn", "smtp.partner.outlook.cn", "login.partner.microsoftonline.cn")]
    public void ReadFile_MicrosoftAccountAndNoServerSection_UsesItsCloudsBuiltInUpstream(string cloud, string server, string imapHost, string smtpHost, string loginHost)
    {
        var result = Read($"[account a@contoso.example]\nclient_id = id\ntenant = contoso.example\n{cloud}");

        var config = Assert.IsType<ProxyConfig>(result.Config);
        var account = config.Accounts["a@contoso.example"];
        Assert.Equal(server, account.ServerName);
        Assert.Equal((imapHost, smtpHost), (config.Servers[server].ImapHost, config.Servers[server].SmtpHost));
        Assert.Equal(loginHost, account.TokenUrl!.Host);
        Assert.Equal(account.Cloud.Scope, account.Scope);
        Assert.DoesNotContain(result.Warnings, w => w.Key == "server");
    }

    [Fact]
    public void ReadFile_UnknownCloud_OneErrorNamingTheClouds()
    {
        var result = Read("[account a]\nclient_id = id\ncloud = germany\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal("[account a] cloud = 'germany': is not a Microsoft cloud: use one of global, usgov, usgov-dod, china (global also for GCC; usgov is GCC High)", error.ToString());
        Assert.Null(result.Config);
    }

    [Fact]
    public void ReadFile_CloudWithGoogle_WarnsItIsIgnored()
    {
        var result = Read("[account a]\nprovider = google\nclient_id = id\nclient_secret = s\ncloud = usgov\n");

        Assert.NotNull(Warning(result, "cloud", "is only used with provider = microsoft"));
        Assert.Same(MicrosoftCloud.Global, result.Config!.Accounts["a"].Cloud);
    }

    [Fact]
    public void ReadFile_UsGovCloud_InfoThatGccUsesGlobal()
    {
        var result = Read("[account a]\nclient_id = id\ncloud = usgov\n");

        Assert.NotNull(Warning(result, "cloud", "a GCC (moderate) tenant lives in the commercial cloud"));
    }

    [Theory]
    [InlineData("global", "outlook.office365.us", "usgov")]
    [InlineData("usgov", "outlook.office365.com", "global")]
    [InlineData("china", "outlook-dod.office365.us", "usgov-dod")]
    public void ReadFile_ServerOfAnotherCloud_WarnsWithTheMismatch(string cloud, string host, string other)
    {
        var result = Read($"[server s]\nimap_host = {host}\n[account a]\nclient_id = id\ncloud = {cloud}\n");

        var warning = Warning(result, "server", $"an Exchange host of the {other} cloud");
        Assert.NotNull(warning);
        Assert.Contains($"cloud = {cloud}", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_ServerOfTheAccountsCloud_NoMismatchWarning()
    {
        var result = Read("[server s]\nimap_host = outlook.office365.us\nsmtp_host = smtp.office365.us\n[account a]\nclient_id = id\ncloud = usgov\n");

        Assert.DoesNotContain(result.Warnings, w => w.Key == "server");
    }

    [Fact]
    public void ReadFile_GoogleDeviceCode_WarnsGoogleRefusesMailScopesThere()
    {
        var result = Read("[account a]\nprovider = google\nclient_id = id\nflow = device_code\n");

        Assert.NotNull(Warning(result, "flow", "Google refuses mail scopes (https://mail.google.com/) in the device flow"));
    }

    [Fact]
    public void ReadFile_GoogleClientSecret_InformationThatItIsNotSecretButRequired()
    {
        var result = Read("[account a]\nprovider = google\nclient_id = id\nclient_secret = GOCSPX-not-shown\n");

        var info = Warning(result, "client_secret", "(for information, nothing to fix)");
        Assert.NotNull(info);
        Assert.Null(info.Value);
        Assert.DoesNotContain("GOCSPX", string.Join("\n", result.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_GoogleBrowserWithoutClientSecret_WarnsGoogleWantsIt()
    {
        var result = Read("[account a]\nprovider = google\nclient_id = id\n");

        Assert.NotNull(Warning(result, "client_secret", "Google's token endpoint wants the client secret"));
    }

    [Fact]
    public void ReadFile_GenericWithIssuer_ValidWithoutEndpointsAndNoNetworkRead()
    {
        var issuer = $"https://id-{Guid.NewGuid():N}.example/realms/mail";
        var result = Read($"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = openid mail\nissuer = {issuer}\nsasl = oauthbearer\n");

        var account = Assert.IsType<ProxyConfig>(result.Config).Accounts["a"];
        Assert.Equal(issuer, account.Issuer!.OriginalString);
        Assert.Null(account.TokenUrl);
        Assert.Null(account.AuthorizeUrl);
        Assert.Null(account.Discovery!.Document);
        Assert.Equal(SaslMechanism.OAuthBearer, account.Sasl);
        Assert.Equal($"{issuer}/.well-known/openid-configuration", account.Discovery.DocumentUrl.AbsoluteUri);
    }

    [Fact]
    public void ReadFile_GenericWithIssuerAndTokenUrl_TheWrittenEndpointWins()
    {
        var issuer = $"https://id-{Guid.NewGuid():N}.example";
        var result = Read($"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = mail\nissuer = {issuer}\ntoken_url = https://other.example/token\n");

        var account = result.Config!.Accounts["a"];
        Assert.Equal("https://other.example/token", account.TokenUrl!.AbsoluteUri);
        // The same entry for every read of the same issuer (a reload sees the same account).
        Assert.Same(account.Discovery, Read($"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = mail\nissuer = {issuer}/\n").Config!.Accounts["a"].Discovery);
    }

    [Theory]
    [InlineData("issuer = http://id.example.com", "issuer", "plain http:// is only allowed for loopback hosts")]
    [InlineData("issuer = https://id.example.com/?tenant=x", "issuer", "without a query or fragment")]
    [InlineData("sasl = plain", "sasl", "must be one of xoauth2, oauthbearer")]
    public void ReadFile_BadIssuerOrSasl_OneErrorLine(string line, string key, string text)
    {
        var result = Read($"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = mail\ntoken_url = https://id.example/token\nauthorize_url = https://id.example/auth\n{line}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal(key, error.Key);
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_IssuerWithMicrosoft_WarnsItIsIgnored()
    {
        var result = Read("[account a]\nclient_id = id\nissuer = https://id.example\n");

        Assert.NotNull(Warning(result, "issuer", "is only used with provider = generic"));
        Assert.Null(result.Config!.Accounts["a"].Discovery);
    }

    [Fact]
    public void ReadFile_GenericWithoutServerOrIssuerEndpoints_ServerStillNeeded()
    {
        var result = Read("[account a]\nprovider = generic\nclient_id = id\nscope = s\nissuer = https://id.example\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal("server", error.Key);
        Assert.Contains("provider = generic has no built-in upstream", error.Message, StringComparison.Ordinal);
    }
    [Fact]
    public void ReadFile_ExampleFileWithItsProviderExamplesUncommented_ValidWithEachProvider()
    {
        var example = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "emailproxy.config.example"));
        var others = example[example.IndexOf("; --- Shared mailboxes", StringComparison.Ordinal)..];
        var uncommented = string.Join("\n", others.Split('\n')
            .Where(line => System.Text.RegularExpressions.Regex.IsMatch(line, @"^; (\[[a-z]+ [^\]]+\]|[a-z_]+\s+=)"))
            .Select(line => line[2..]));

        var result = Read(example + "\n" + uncommented + "\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var accounts = result.Config!.Accounts;
        Assert.Same(MicrosoftCloud.UsGov, accounts["ops@agency.us"].Cloud);
        Assert.Equal("https://outlook.office365.us/SMTP.Send", accounts["ops@agency.us"].Scope.Split(' ')[2]);
        Assert.Equal(("gmail", OAuthProvider.Google), (accounts["me@example.com"].ServerName, accounts["me@example.com"].Provider));
        Assert.Equal(SaslMechanism.OAuthBearer, accounts["alice@example.com"].Sasl);
        Assert.DoesNotContain(result.Warnings, w => w.Key == "server");
        Assert.Equal("sales@thekpsgroup.com", accounts["info@thekpsgroup.com"].TokenFrom);
        var template = Assert.Single(result.Config!.Templates);
        Assert.Equal(50, template.MaxAccounts);
    }
}
