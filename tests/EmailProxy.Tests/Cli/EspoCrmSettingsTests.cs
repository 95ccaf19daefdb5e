using EmailProxy.Cli;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Cli;

/// <summary><c>emailproxy espocrm</c>: the text, and the command's exit codes.</summary>
[Collection(ConsoleTestsRunAlone.Name)]
public sealed class EspoCrmSettingsTests : IDisposable
{
    private static readonly string SeedConfig = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "seed.config"));

    private static string SecondAccount(string hash) => $"""

        [account Support@Example.com]
        client_id = 11111111-2222-3333-4444-555555555555
        server    = outlook.office365.com
        password_hash = {hash}
        """;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Describe_SeedConfig_GivesLoopbackHostsPortsSecurityAndAllowedList()
    {
        var config = Read(SeedConfig);

        var text = EspoCrmSettings.Describe(config, config.Accounts.Values);

        var lines = Lines(text);
        Assert.Contains("[account sales@thekpsgroup.com]: Email Accounts (personal) or Administration > Group Email Accounts (group)", lines);
        Assert.Contains("    Host:            127.0.0.1", lines);
        Assert.Contains("    Port:            1993", lines);
        Assert.Contains(lines, l => l.StartsWith("    Security:        None (plaintext, works without any CA;", StringComparison.Ordinal));
        Assert.Contains("    Username:        sales@thekpsgroup.com", lines);
        Assert.Contains("    Password:        any password (the account has no password_hash)", lines);
        Assert.Contains("    SMTP Host:       127.0.0.1", lines);
        Assert.Contains("    SMTP Port:       1587", lines);
        // auto offers no STARTTLS, so Symfony Mailer stays in plaintext and needs no CA.
        Assert.Contains(lines, l => l.StartsWith("    SMTP Security:   None (plaintext, works without any CA: the proxy does not offer STARTTLS;", StringComparison.Ordinal));
        Assert.Contains("    SMTP Auth:       yes", lines);
        Assert.Contains("    Auth Mechanism:  LOGIN (EspoCRM's default) or PLAIN; not CRAM-MD5", lines);
        Assert.Contains("    SMTP Username:   sales@thekpsgroup.com", lines);
        Assert.Contains("  'emailServerAllowedAddressList' => ['127.0.0.1:1993', '127.0.0.1:1587'],", lines);
        Assert.Contains(lines, l => l.StartsWith("A loopback host reaches the proxy only from EspoCRM on this machine", StringComparison.Ordinal));
        var caPath = Path.Combine(_temp.Path, "tls", "ca.pem");
        Assert.Contains(lines, l => l.StartsWith("Local TLS is on (local_tls = auto)", StringComparison.Ordinal) && l.Contains(caPath, StringComparison.Ordinal));
        Assert.Contains($"  docker cp {caPath} ESPOCRM_CONTAINER:/usr/local/share/ca-certificates/emailproxy.crt", lines);
        Assert.Contains("  docker exec -u root ESPOCRM_CONTAINER update-ca-certificates", lines);
    }

    [Fact]
    public void Describe_AccountWithPasswordHash_AsksForTheHashedPasswordAndNeverPrintsTheHash()
    {
        var hash = PasswordVerifierHash();
        var config = Read(SeedConfig + SecondAccount(hash));

        var text = EspoCrmSettings.Describe(config, [config.FindAccount("support@example.com")!]);

        var lines = Lines(text);
        Assert.Contains("    Username:        Support@Example.com", lines);
        Assert.Contains("    Password:        the password whose hash is this account's password_hash (the one given to 'emailproxy hash-password')", lines);
        Assert.Contains("    SMTP Password:   the password whose hash is this account's password_hash (the one given to 'emailproxy hash-password')", lines);
        Assert.DoesNotContain("sales@thekpsgroup.com", text, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_LocalTlsOff_SaysNoneEverywhereAndNoCa()
    {
        var config = Read(SeedConfig.Replace("[general]\n", "[general]\nlocal_tls = off\n", StringComparison.Ordinal));

        var text = EspoCrmSettings.Describe(config, config.Accounts.Values);

        var lines = Lines(text);
        Assert.Contains("    Security:        None (local_tls = off: plaintext only)", lines);
        Assert.Contains("    SMTP Security:   None (local_tls = off: plaintext only)", lines);
        Assert.DoesNotContain("ca.pem", text, StringComparison.Ordinal);
        Assert.DoesNotContain("update-ca-certificates", text, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("Local TLS is off", StringComparison.Ordinal));
    }

    [Fact]
    public void Describe_SeedWayModes_SslTlsForImplicitImapAndStartTlsForSmtp()
    {
        var config = Read(SeedConfig.Replace("[general]\n", "[general]\nimap_tls = implicit\nsmtp_tls = starttls\n", StringComparison.Ordinal));

        var lines = Lines(EspoCrmSettings.Describe(config, config.Accounts.Values));

        Assert.Contains(lines, l => l.StartsWith("    Security:        SSL/TLS (imap_tls = implicit: TLS only, so EspoCRM must trust the CA below)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    SMTP Security:   STARTTLS (smtp_tls = starttls: the proxy offers STARTTLS and EspoCRM takes it whatever this field says", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Local TLS is on (imap_tls = implicit, smtp_tls = starttls)", StringComparison.Ordinal));
        Assert.Contains("  docker exec -u root ESPOCRM_CONTAINER update-ca-certificates", lines);
    }

    [Fact]
    public void Describe_OnlyTheOtherListenersUseTls_SaysNoneAndNoCa()
    {
        var config = Read(SeedConfig.Replace("[general]\n", "[general]\nimap_tls = off\nsmtp_tls = off\npop_tls = implicit\n", StringComparison.Ordinal));

        var text = EspoCrmSettings.Describe(config, config.Accounts.Values);

        var lines = Lines(text);
        Assert.Contains("    Security:        None (imap_tls = off: plaintext only)", lines);
        Assert.Contains("    SMTP Security:   None (smtp_tls = off: plaintext only)", lines);
        Assert.DoesNotContain("update-ca-certificates", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_ListenersOnEveryAddress_NamesTheServiceAndListsIt()
    {
        var hash = PasswordVerifierHash();
        var config = Read("[general]\nimap_listen = 0.0.0.0:1993\nsmtp_listen = 0.0.0.0:1587\n" + SeedConfig[SeedConfig.IndexOf("[server", StringComparison.Ordinal)..] + $"password_hash = {hash}\n");

        var text = EspoCrmSettings.Describe(config, config.Accounts.Values);

        var lines = Lines(text);
        Assert.Contains("    Host:            this machine's address, or the compose service name (mail-proxy)", lines);
        Assert.Contains("    SMTP Host:       this machine's address, or the compose service name (mail-proxy)", lines);
        Assert.Contains(lines, l => l.StartsWith("    Security:        None works without any CA, but this port is reachable from other machines", StringComparison.Ordinal));
        Assert.Contains("  'emailServerAllowedAddressList' => ['mail-proxy:1993', 'mail-proxy:1587'],", lines);
        Assert.DoesNotContain("A loopback host", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EspoCrm_OneNamedAccount_PrintsOnlyItAndExitsOk()
    {
        var path = _temp.WriteFile("emailproxy.config", SeedConfig + SecondAccount(PasswordVerifierHash()));
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["espocrm", "SALES@thekpsgroup.com", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.Contains("[account sales@thekpsgroup.com]", console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Support@Example.com", console.Output, StringComparison.Ordinal);
        Assert.Equal("", console.Errors);
    }

    [Fact]
    public async Task EspoCrm_UnknownAccount_OneLineOnStandardErrorAndExitsFailure()
    {
        var path = _temp.WriteFile("emailproxy.config", SeedConfig);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["espocrm", "nobody@example.com", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Equal($"emailproxy: {path}: there is no [account nobody@example.com]", console.Errors.TrimEnd('\r', '\n'));
        Assert.Equal("", console.Output);
    }

    private ProxyConfig Read(string text)
    {
        var read = ConfigReader.ReadFile(_temp.WriteFile("emailproxy.config", text));
        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        return read.Config!;
    }

    private static string PasswordVerifierHash() => EmailProxy.Accounts.PasswordVerifier.Hash("correct horse");

    private static string[] Lines(string text) => text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
}
