using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary>The warnings of <see cref="ConfigLint"/> and the duplicate-header error, each present and absent, read from files.</summary>
public sealed class ConfigLintTests : IDisposable
{
    private const string Server = "[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\n";

    private const string Guid = "6627d97c-a18f-487c-bb7a-d0d6e1640a28";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string account, string general = "")
    {
        var ini = $"[general]\n{general}\n{Server}[account a@example.com]\nclient_id = id\n{account}\n";
        return ConfigReader.ReadFile(_temp.WriteFile($"{System.Guid.NewGuid():N}.config", ini));
    }

    private static ConfigProblem? Warning(ConfigReadResult result, string key, string text) =>
        result.Warnings.SingleOrDefault(w => w.Key == key && w.Message.Contains(text, StringComparison.Ordinal));

    [Theory]
    [InlineData("authorization_code")]
    [InlineData("device_code")]
    public void ReadFile_DelegatedFlowWithoutOfflineAccess_WarnsWithTheFix(string flow)
    {
        var result = Read($"flow = {flow}\nscope = https://outlook.office.com/IMAP.AccessAsUser.All");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Warning(result, "scope", "offline_access");
        Assert.NotNull(warning);
        Assert.Equal(
            "[account a@example.com] scope = 'https://outlook.office.com/IMAP.AccessAsUser.All': has no offline_access, so Microsoft issues no refresh token and the account must sign in again every hour: add offline_access to scope",
            warning.ToString());
    }

    [Theory]
    [InlineData("scope = https://outlook.office.com/IMAP.AccessAsUser.All OFFLINE_ACCESS")]
    [InlineData("")]
    [InlineData("flow = client_credentials\nclient_secret = s\ntenant = " + Guid + "\nscope = https://outlook.office365.com/.default")]
    [InlineData("provider = google")]
    public void ReadFile_OfflineAccessPresentOrNotNeeded_NoWarning(string lines)
    {
        var result = Read(lines);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Null(Warning(result, "scope", "offline_access"));
    }

    [Fact]
    public void ReadFile_ScopesOfTwoResources_WarnsNamingThem()
    {
        var result = Read("scope = https://outlook.office.com/IMAP.AccessAsUser.All https://graph.microsoft.com/SMTP.Send offline_access");

        var warning = Warning(result, "scope", "resources");
        Assert.NotNull(warning);
        Assert.Contains("asks for scopes of 2 resources (https://outlook.office.com, https://graph.microsoft.com), but Microsoft issues a token for one resource only", warning.Message, StringComparison.Ordinal);
        Assert.Contains("scope = https://outlook.office.com/IMAP.AccessAsUser.All", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office365.com/SMTP.Send offline_access openid profile email")]
    [InlineData("scope = https://graph.microsoft.com/IMAP.AccessAsUser.All https://graph.microsoft.com/SMTP.Send offline_access")]
    [InlineData("")]
    public void ReadFile_ScopesOfOneResource_NoResourceWarning(string lines)
    {
        var result = Read(lines);

        Assert.Null(Warning(result, "scope", "resources"));
    }

    [Fact]
    public void ReadFile_DeviceCodeWithClientSecret_WarnsWithoutTheSecret()
    {
        var result = Read("flow = device_code\nclient_secret = s3cr3t-value");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Warning(result, "client_secret", "public-client flow");
        Assert.NotNull(warning);
        Assert.Null(warning.Value);
        Assert.Contains("remove client_secret", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", warning.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("flow = device_code")]
    [InlineData("client_secret = s")]
    public void ReadFile_SecretOnlyWhereItIsUsed_NoSecretWarning(string lines)
    {
        var result = Read(lines);

        Assert.DoesNotContain(result.Warnings, w => w.Key == "client_secret");
    }

    [Theory]
    [InlineData("tenant = common\n", "common")]
    [InlineData("tenant = Organizations\n", "Organizations")]
    [InlineData("", "common")]
    public void ReadFile_ClientCredentialsWithoutADirectory_WarnsToSetTheTenant(string tenant, string value)
    {
        var result = Read($"flow = client_credentials\nclient_secret = s\n{tenant}");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Warning(result, "tenant", "client_credentials");
        Assert.NotNull(warning);
        Assert.Equal(value, warning.Value);
        Assert.Contains("set tenant to the directory (tenant) id", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("flow = client_credentials\nclient_secret = s\ntenant = " + Guid)]
    [InlineData("flow = client_credentials\nclient_secret = s\ntenant = contoso.onmicrosoft.com")]
    [InlineData("tenant = common")]
    public void ReadFile_TenantFitsTheFlow_NoTenantWarning(string lines)
    {
        var result = Read(lines);

        Assert.DoesNotContain(result.Warnings, w => w.Key == "tenant");
    }

    [Fact]
    public void ReadFile_RedirectUriOnLocalhost_WarnsThatRegistrationMustMatch()
    {
        var result = Read("", "redirect_uri = http://localhost:18089");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Warning(result, "redirect_uri", "localhost");
        Assert.NotNull(warning);
        Assert.Equal("general", warning.Section);
        Assert.Contains("AADSTS50011", warning.Message, StringComparison.Ordinal);
        Assert.Contains("register exactly http://localhost:18089", warning.Message, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:18089", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "redirect_uri = http://127.0.0.1:18089")]
    [InlineData("flow = device_code", "redirect_uri = http://localhost:18089")]
    public void ReadFile_RedirectUriOnAnAddressOrUnused_NoLocalhostWarning(string account, string general)
    {
        var result = Read(account, general);

        Assert.DoesNotContain(result.Warnings, w => w.Key == "redirect_uri");
    }

    [Fact]
    public void ReadFile_ListenerOnButServerHasNoHostForIt_WarnsNamingAccountServerAndKey()
    {
        var result = Read("", "pop_listen = 127.0.0.1:1995");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings, w => w.Key == "server");
        Assert.Equal(
            "[account a@example.com] server = 's': [general] pop_listen is set, but [server s] has no pop_host, so this account's logins there will fail: set pop_host in [server s], point server at one that has it, or turn pop_listen off",
            warning.ToString());
    }

    [Theory]
    [InlineData("imap_listen = 127.0.0.1:1993\nsmtp_listen = 127.0.0.1:1587")]
    [InlineData("pop_listen =")]
    [InlineData("")]
    public void ReadFile_EveryListenerHasItsHost_NoServerWarning(string general)
    {
        var result = Read("", general);

        Assert.DoesNotContain(result.Warnings, w => w.Key == "server");
    }

    [Fact]
    public void ReadFile_AccountHeadersDifferingOnlyInCase_IsAnErrorNamingBothHeadersAndLines()
    {
        // Both sections have client_id: the INI reader alone refuses the file over the duplicate key.
        var path = _temp.WriteFile("dup.config", Server + "[account Sales@example.com]\nclient_id = one\n\n[account sales@EXAMPLE.com]\nclient_id = two\n");

        var result = ConfigReader.ReadFile(path);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(
            "[account sales@EXAMPLE.com]: (line 7) is the same account as [account Sales@example.com] (line 4): account names are case-insensitive, so the two sections would be merged into one; rename or remove one of them",
            error.ToString());
    }

    [Fact]
    public void ReadFile_AccountHeadersDifferingOnlyInCaseWithDifferentKeys_IsAnErrorNotAMerge()
    {
        var path = _temp.WriteFile("dup.config", Server + "[account a@example.com]\nclient_id = one\n[ACCOUNT A@example.com]\nusername = b@example.com\n");

        var result = ConfigReader.ReadFile(path);

        Assert.False(result.IsValid);
        Assert.Contains("is the same account as [account a@example.com] (line 4)", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_DistinctAccountHeaders_NoDuplicateError()
    {
        var path = _temp.WriteFile("two.config", Server + "[account a@example.com]\nclient_id = one\n; [account A@example.com]\n[account b@example.com]\nclient_id = two\n");

        var result = ConfigReader.ReadFile(path);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Fact]
    public void ReadFile_SmtpOffersStartTlsAndNoCaYet_WarnsNamingTheCaPathAndTheFix()
    {
        var result = Read("", "smtp_tls = starttls");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings, w => w.Key == "smtp_tls");
        var ca = _temp.Combine("tls", "ca.pem");
        Assert.Equal(
            $"[general] smtp_tls = 'starttls': SMTP offers STARTTLS, which clients that verify (EspoCRM's Symfony Mailer, PHP's imap) take whenever it is offered, so they must trust the proxy's CA, but {ca} does not exist yet (the proxy makes it when it starts): install it in them once it is there (the EspoCRM recipe mounts ./config/tls/ca.pem), or set smtp_tls = auto so that they stay in plaintext",
            warning.ToString());
    }

    [Fact]
    public void ReadFile_LocalTlsStartTls_OneWarningForTheListenersItCovers()
    {
        var result = Read("", "local_tls = starttls\nsmtp_tls = auto\npop_listen = 127.0.0.1:1995");

        var warning = Assert.Single(result.Warnings, w => w.Key is "local_tls" or "imap_tls" or "smtp_tls" or "pop_tls");
        Assert.Equal("local_tls", warning.Key);
        Assert.Contains(": IMAP and POP3 offer STARTTLS", warning.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("or set local_tls = auto so that they stay in plaintext", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("local_tls = implicit")]
    [InlineData("smtp_tls = off")]
    [InlineData("smtp_tls = starttls\nsmtp_listen =")]
    public void ReadFile_NoListenerOffersStartTls_NoTlsWarning(string general)
    {
        var result = Read("", general);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.DoesNotContain(result.Warnings, w => w.Key is "local_tls" or "imap_tls" or "smtp_tls" or "pop_tls");
    }

    [Fact]
    public void ReadFile_StartTlsWithTheCaInPlace_NoWarning()
    {
        Directory.CreateDirectory(_temp.Combine("tls"));
        _temp.WriteFile(Path.Combine("tls", "ca.pem"), "-----BEGIN CERTIFICATE-----\n");

        var result = Read("", "smtp_tls = starttls");

        Assert.DoesNotContain(result.Warnings, w => w.Key == "smtp_tls");
    }

    [Fact]
    public void ReadFile_StartTlsWithALocalCertificate_WarnsToInstallItsCa()
    {
        _temp.WriteFile("proxy.crt", "-----BEGIN CERTIFICATE-----\n");
        _temp.WriteFile("proxy.key", "-----BEGIN PRIVATE KEY-----\n");

        var result = Read("", "smtp_tls = starttls\nlocal_certificate = proxy.crt\nlocal_key = proxy.key");

        var warning = Assert.Single(result.Warnings, w => w.Key == "smtp_tls");
        Assert.Contains("must trust the CA that issued local_certificate = proxy.crt: install that CA in them", warning.Message, StringComparison.Ordinal);
    }
}
