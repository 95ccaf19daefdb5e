using EmailProxy.Configuration;
using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary>
/// flow = client_credentials as the reader and the lint see it: the app-only default scope, client_certificate
/// and client_key as a pair of files that load and belong together, and the warnings that know about the certificate.
/// </summary>
public sealed class ClientCredentialsConfigTests : IDisposable
{
    private const string Server = "[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\n";
    private const string Tenant = "tenant = 6627d97c-a18f-487c-bb7a-d0d6e1640a28\n";
    private const string Section = "account a@example.com";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string account)
    {
        var ini = $"[general]\n{Server}[{Section}]\nclient_id = id\n{account}\n";
        return ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));
    }

    private static string Pair(TestClientCertificate certificate, TestClientCertificate? key = null) =>
        $"client_certificate = {certificate.CertificatePath}\nclient_key = {(key ?? certificate).KeyPath}\n";

    [Fact]
    public void ReadFile_MicrosoftClientCredentialsWithoutScope_DefaultsToExchangeDotDefault()
    {
        var result = Read("flow = client_credentials\nclient_secret = s\n" + Tenant);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal("https://outlook.office365.com/.default", result.Config!.Accounts["a@example.com"].Scope);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void ReadFile_ClientCredentials_NoAuthorizeUrlSoNoBrowserSignInCanStart()
    {
        var result = Read("flow = client_credentials\nclient_secret = s\n" + Tenant);

        Assert.Null(result.Config!.Accounts["a@example.com"].AuthorizeUrl);
        Assert.NotNull(result.Config.Accounts["a@example.com"].TokenUrl);
    }

    [Fact]
    public void ReadFile_ClientCredentialsWithAScope_TheConfiguredScopeWins()
    {
        var result = Read("flow = client_credentials\nclient_secret = s\n" + Tenant + "scope = https://outlook.office.com/.default");

        Assert.Equal("https://outlook.office.com/.default", result.Config!.Accounts["a@example.com"].Scope);
    }

    [Fact]
    public void ReadFile_AuthorizationCodeWithoutScope_KeepsTheDelegatedDefault()
    {
        var result = Read("");

        Assert.Equal(ProviderEndpoints.MicrosoftScope, result.Config!.Accounts["a@example.com"].Scope);
    }

    [Fact]
    public void ReadFile_CertificateAndKey_ValidWithFullPaths()
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read("flow = client_credentials\n" + Tenant + Pair(pair));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Equal(pair.CertificatePath, result.Config!.Accounts["a@example.com"].ClientCertificate);
        Assert.Equal(pair.KeyPath, result.Config.Accounts["a@example.com"].ClientKey);
    }

    [Fact]
    public void ReadFile_CertificateWithoutKey_ErrorNamingClientKey()
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read($"flow = client_credentials\n{Tenant}client_certificate = {pair.CertificatePath}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal("client_key", error.Key);
        Assert.StartsWith($"[{Section}] client_key: is required with client_certificate", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_KeyWithoutCertificate_ErrorNamingClientCertificate()
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read($"flow = client_credentials\n{Tenant}client_key = {pair.KeyPath}\n");

        Assert.Equal("client_certificate", Assert.Single(result.Errors).Key);
    }

    [Fact]
    public void ReadFile_KeyFileMissing_OneErrorNamingSectionKeyAndFile()
    {
        var pair = TestClientCertificate.Create(_temp);
        File.Delete(pair.KeyPath);

        var result = Read("flow = client_credentials\n" + Tenant + Pair(pair));

        var error = Assert.Single(result.Errors);
        Assert.Equal($"[{Section}] client_key: the file {pair.KeyPath} does not exist", error.ToString());
    }

    [Fact]
    public void ReadFile_KeyOfAnotherCertificate_OneErrorSayingTheyDoNotBelongTogether()
    {
        var one = TestClientCertificate.Create(_temp, "one");
        var two = TestClientCertificate.Create(_temp, "two");

        var result = Read("flow = client_credentials\n" + Tenant + Pair(one, two));

        var error = Assert.Single(result.Errors);
        Assert.Equal("client_key", error.Key);
        Assert.Contains($"is not the key of the certificate in {one.CertificatePath}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_CertificateFileIsNotACertificate_OneErrorNamingClientCertificate()
    {
        var pair = TestClientCertificate.Create(_temp);
        File.WriteAllText(pair.CertificatePath, "garbage");

        var result = Read("flow = client_credentials\n" + Tenant + Pair(pair));

        Assert.Equal("client_certificate", Assert.Single(result.Errors).Key);
    }

    [Fact]
    public void ReadFile_SecretAndCertificate_WarnsThatTheCertificateIsUsed()
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read("flow = client_credentials\nclient_secret = s\n" + Tenant + Pair(pair));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("client_secret", warning.Key);
        Assert.Contains("the certificate is used", warning.Message, StringComparison.Ordinal);
        Assert.Null(warning.Value);
    }

    [Fact]
    public void ReadFile_ClientCredentialsWithCertificateOnly_NoMissingSecretError()
    {
        var pair = TestClientCertificate.Create(_temp);

        Assert.True(Read("flow = client_credentials\n" + Tenant + Pair(pair)).IsValid);
    }

    [Theory]
    [InlineData("device_code", "public-client flow")]
    [InlineData("authorization_code", "only flow = client_credentials signs with a certificate")]
    public void ReadFile_CertificateOnADelegatedFlow_WarnsItIsNotUsed(string flow, string text)
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read($"flow = {flow}\n" + Pair(pair));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Contains(result.Warnings, w => w.Key == "client_certificate" && w.Message.Contains(text, StringComparison.Ordinal));
    }

    [Fact]
    public void ReadFile_CertificateWithCommonTenant_StillWarnsToSetTheTenant()
    {
        var pair = TestClientCertificate.Create(_temp);

        var result = Read("flow = client_credentials\n" + Pair(pair));

        Assert.Contains(result.Warnings, w => w.Key == "tenant" && w.Message.Contains("client_credentials", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadFile_ClientCredentialsWithADelegatedScope_WarnsToUseDotDefault()
    {
        var result = Read("flow = client_credentials\nclient_secret = s\n" + Tenant + "scope = https://outlook.office.com/IMAP.AccessAsUser.All");

        var warning = Assert.Single(result.Warnings);
        Assert.Equal("scope", warning.Key);
        Assert.Contains(".default", warning.Message, StringComparison.Ordinal);
    }
}
