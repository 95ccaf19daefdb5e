using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Configuration;

public sealed class ConfigReaderTests : IDisposable
{
    /// <summary>The file of the seed README, verbatim from DESIGN.md (tests/data/seed.config, shared with the functional tests).</summary>
    private static readonly string SeedConfig = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "seed.config"));

    /// <summary>The smallest valid file: one server, one account with only a client id.</summary>
    private const string Minimal = """
        [server s]
        imap_host = imap.example.com

        [account a]
        client_id = id

        """;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string ini) => ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));

    [Fact]
    public void ReadFile_SeedReadmeFile_IsValidWithMicrosoftEndpoints()
    {
        var result = Read(SeedConfig);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var config = result.Config!;
        var account = config.FindAccount("SALES@thekpsgroup.com");
        Assert.NotNull(account);
        Assert.Equal("sales@thekpsgroup.com", account.Username);
        Assert.Equal("outlook.office365.com", account.ServerName);
        Assert.Equal("fbab4542-c890-4455-bb78-f0ce5e3e17e9", account.ClientId);
        Assert.Equal("6627d97c-a18f-487c-bb7a-d0d6e1640a28", account.Tenant);
        Assert.Equal(OAuthProvider.Microsoft, account.Provider);
        Assert.Equal(OAuthFlow.AuthorizationCode, account.Flow);
        Assert.Equal(
            new Uri("https://login.microsoftonline.com/6627d97c-a18f-487c-bb7a-d0d6e1640a28/oauth2/v2.0/authorize"),
            account.AuthorizeUrl);
        Assert.Equal(
            new Uri("https://login.microsoftonline.com/6627d97c-a18f-487c-bb7a-d0d6e1640a28/oauth2/v2.0/token"),
            account.TokenUrl);
        Assert.True(account.ScopeTargetsGraph);
        Assert.Equal(LogLevel.Debug, config.General.LogLevel);
        Assert.True(config.General.LocalServerAuth);

        var server = Assert.Single(config.Servers).Value;
        Assert.Equal("outlook.office365.com", server.ImapHost);
        Assert.Equal(993, server.ImapPort);
        Assert.Equal("smtp.office365.com", server.SmtpHost);
        Assert.Equal(587, server.SmtpPort);
        Assert.True(server.Ssl);
        Assert.True(server.StartTls);
    }

    [Fact]
    public void ReadFile_RepositoryExampleFile_IsValidAndTargetsOutlook()
    {
        var result = ConfigReader.ReadFile(Path.Combine(RepositoryRoot.Find(), "emailproxy.config.example"));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var account = result.Config!.FindAccount("sales@thekpsgroup.com");
        Assert.NotNull(account);
        Assert.False(account.ScopeTargetsGraph);
        Assert.Empty(result.Warnings);
    }

    /// <summary>deploy/container's file, once its two blanks are filled as docs/container.md says: the seed's EspoCRM settings (IMAP SSL/TLS or None on auto, SMTP STARTTLS).</summary>
    [Fact]
    public void ReadFile_ContainerExampleFileFilledIn_IsValidWithTheSeedsTlsModes()
    {
        var hash = EmailProxy.Accounts.PasswordVerifier.Hash("correct horse");
        var text = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "deploy", "container", "emailproxy.config"))
            .Replace("admin_password    =\n", $"admin_password    = {hash}\n", StringComparison.Ordinal)
            .Replace("password_hash =\n", $"password_hash = {hash}\n", StringComparison.Ordinal);
        Assert.Equal(2, text.Split(hash).Length - 1);

        var result = Read(text);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(LocalTlsMode.Auto, result.Config!.General.TlsOf(MailListenerKind.Imap));
        Assert.Equal(LocalTlsMode.StartTls, result.Config.General.TlsOf(MailListenerKind.Smtp));
    }

    [Fact]
    public void ReadFile_MinimalFile_AppliesDefaults()
    {
        var result = Read(Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var general = result.Config!.General;
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 1993), general.ImapListen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 1587), general.SmtpListen);
        Assert.Null(general.PopListen);
        Assert.Equal(new Uri("http://127.0.0.1:18089"), general.RedirectUri);
        Assert.Equal(LogLevel.Information, general.LogLevel);
        Assert.Equal("tokens", general.TokenDirectory);
        Assert.Equal("emailproxy.key", general.SecretFile);
        Assert.True(general.LocalServerAuth);

        var account = result.Config.FindAccount("A");
        Assert.NotNull(account);
        Assert.Equal("s", account.ServerName);
        Assert.Equal("a", account.Username);
        Assert.Equal("common", account.Tenant);
        Assert.Contains("outlook.office.com", account.Scope, StringComparison.Ordinal);
        Assert.Contains("offline_access", account.Scope.Split(' '));
        Assert.False(account.ScopeTargetsGraph);
        Assert.Equal(new Uri("https://login.microsoftonline.com/common/oauth2/v2.0/token"), account.TokenUrl);
        Assert.Null(account.PasswordHash);

        var server = result.Config.Servers["S"];
        Assert.Equal(993, server.ImapPort);
        Assert.Equal(587, server.SmtpPort);
        Assert.True(server.Ssl);
    }

    [Fact]
    public void ReadFile_AccountNamesMissingServer_ErrorNamesSectionAndKey()
    {
        var result = Read("""
            [server s]
            imap_host = imap.example.com

            [account a]
            client_id = id
            server = y

            """);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("account a", problem.Section);
        Assert.Equal("server", problem.Key);
        Assert.Equal("[account a] server = 'y': there is no [server y] section", problem.ToString());
    }

    [Theory]
    [InlineData("[server s]\nimap_host = imap.example.com\n[account a]\nserver = s\n", "account a", "client_id")]
    [InlineData("[server s]\nimap_host = imap.example.com\nimap_port = 0\n[account a]\nclient_id = id\n", "server s", "imap_port")]
    [InlineData("[server s]\nimap_host = imap.example.com\nimap_port = 70000\n[account a]\nclient_id = id\n", "server s", "imap_port")]
    [InlineData("[server s]\nimap_host = imap.example.com\nsmtp_port = abc\n[account a]\nclient_id = id\n", "server s", "smtp_port")]
    [InlineData("[server s]\nimap_host = imap.example.com\nimap_port = -1\n[account a]\nclient_id = id\n", "server s", "imap_port")]
    [InlineData("[server s]\nimap_host = imap.example.com\nssl = maybe\n[account a]\nclient_id = id\n", "server s", "ssl")]
    [InlineData("[general]\nlocal_server_auth = sometimes\n[server s]\nimap_host = i\n[account a]\nclient_id = id\n", "general", "local_server_auth")]
    [InlineData("[general]\nlog_level = loud\n[server s]\nimap_host = i\n[account a]\nclient_id = id\n", "general", "log_level")]
    [InlineData("[general]\nimap_listen = nowhere\n[server s]\nimap_host = i\n[account a]\nclient_id = id\n", "general", "imap_listen")]
    [InlineData("[general]\nimap_listen = 127.0.0.1:99999\n[server s]\nimap_host = i\n[account a]\nclient_id = id\n", "general", "imap_listen")]
    [InlineData("[server s]\nimap_host = i\n[account a]\nclient_id = id\nauthority = http://login.example.com\n", "account a", "authority")]
    [InlineData("[server s]\nimap_host = i\n[account a]\nclient_id = id\ntoken_url = http://login.example.com/token\n", "account a", "token_url")]
    [InlineData("[server s]\nimap_host = i\n[server t]\nimap_host = j\n[account a]\nclient_id = id\n", "account a", "server")]
    [InlineData("[account a]\nprovider = generic\nclient_id = id\nscope = s\nauthorize_url = https://id.example/a\ntoken_url = https://id.example/t\n", "account a", "server")]
    [InlineData("[server s]\nimap_host = i\n[account a]\nclient_id = id\npassword_hash = not-a-hash\n", "account a", "password_hash")]
    [InlineData("[server s]\nimap_host = i\n[account a]\nclient_id = id\nflow = implicit\n", "account a", "flow")]
    public void ReadFile_OneMistake_OneErrorNamingSectionAndKey(string ini, string section, string key)
    {
        var result = Read(ini);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        var problem = Assert.Single(result.Errors);
        Assert.Equal(section, problem.Section);
        Assert.Equal(key, problem.Key);
        Assert.StartsWith($"[{section}] {key}", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_ServerWithoutHost_OneErrorNamingSectionAndHostKeys()
    {
        var result = Read("""
            [server s]
            imap_port = 993

            [account a]
            client_id = id

            """);

        Assert.False(result.IsValid);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("server s", problem.Section);
        Assert.Contains("imap_host", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_PasswordHashMalformed_ErrorDoesNotEchoTheValue()
    {
        var result = Read(Minimal + "password_hash = hunter2-secret\n");

        var problem = Assert.Single(result.Errors);
        Assert.DoesNotContain("hunter2-secret", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_MultiMegabytePasswordHash_ErrorNamesAccountAndKey()
    {
        var result = Read(Minimal + "password_hash = AQ" + new string('A', 16 * 1024 * 1024) + "\n");

        Assert.False(result.IsValid);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("account a", problem.Section);
        Assert.Equal("password_hash", problem.Key);
        Assert.StartsWith("[account a] password_hash: ", problem.ToString(), StringComparison.Ordinal);
    }

    private const string GenericServer = "[server s]\nimap_host = i\n[account a]\nclient_id = id\nprovider = generic\nscope = mail\n";

    [Theory]
    [InlineData("token_url = https://id.example/token\n", "authorize_url")]
    [InlineData("authorize_url = https://id.example/authorize\n", "token_url")]
    [InlineData("flow = device_code\ntoken_url = https://id.example/token\nauthorize_url = https://id.example/authorize\n", "device_code_url")]
    [InlineData("flow = device_code\ndevice_code_url = https://id.example/device\n", "token_url")]
    [InlineData("flow = client_credentials\nclient_secret = s\nauthorize_url = https://id.example/authorize\n", "token_url")]
    public void ReadFile_GenericProviderWithoutAnEndpointItsFlowNeeds_ErrorNamesThatKey(string keys, string missing)
    {
        var result = Read(GenericServer + keys);

        Assert.False(result.IsValid);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("account a", problem.Section);
        Assert.Equal(missing, problem.Key);
    }

    [Theory]
    [InlineData("token_url = https://id.example/token\n", "authorize_url")]
    [InlineData("authorize_url = https://id.example/authorize\n", "token_url")]
    [InlineData("flow = device_code\ndevice_code_url = https://id.example/device\n", "token_url")]
    [InlineData("flow = client_credentials\nclient_secret = s\nauthorize_url = https://id.example/authorize\n", "token_url")]
    public void ReadFile_GenericProviderWithoutTokenOrAuthorizeUrl_SameWordingAsBefore(string keys, string missing)
    {
        var result = Read(GenericServer + keys);

        var problem = Assert.Single(result.Errors);
        Assert.Equal(missing, problem.Key);
        Assert.Equal("is required with provider = generic", problem.Message);
    }

    [Fact]
    public void ReadFile_GenericDeviceCodeWithoutAuthorizeUrl_IsValidWithNoAuthorizeUrl()
    {
        var result = Read(GenericServer + "flow = device_code\ntoken_url = https://id.example/token\ndevice_code_url = https://id.example/device\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var account = result.Config!.FindAccount("a")!;
        Assert.Null(account.AuthorizeUrl);
        Assert.Equal(new Uri("https://id.example/token"), account.TokenUrl);
        Assert.Equal(new Uri("https://id.example/device"), account.DeviceCodeUrl);
    }

    [Fact]
    public void ReadFile_GenericClientCredentialsWithTokenUrlOnly_IsValidWithNoOtherEndpoint()
    {
        var result = Read(GenericServer + "flow = client_credentials\nclient_secret = s\ntoken_url = https://id.example/token\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var account = result.Config!.FindAccount("a")!;
        Assert.Null(account.AuthorizeUrl);
        Assert.Null(account.DeviceCodeUrl);
        Assert.Equal(new Uri("https://id.example/token"), account.TokenUrl);
    }

    [Fact]
    public void ReadFile_GenericAuthorizationCode_KeepsEachEndpointAsGiven()
    {
        var result = Read(GenericServer + "token_url = https://id.example/token\nauthorize_url = https://id.example/authorize\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var account = result.Config!.FindAccount("a")!;
        Assert.Equal(new Uri("https://id.example/authorize"), account.AuthorizeUrl);
        Assert.Equal(new Uri("https://id.example/token"), account.TokenUrl);
        Assert.Null(account.DeviceCodeUrl);
    }

    [Fact]
    public void ReadFile_Google_HasGoogleEndpointsAndScope()
    {
        var result = Read(Minimal + "provider = google\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var account = result.Config!.FindAccount("a")!;
        Assert.Equal(new Uri("https://accounts.google.com/o/oauth2/v2/auth"), account.AuthorizeUrl);
        Assert.Equal(new Uri("https://oauth2.googleapis.com/token"), account.TokenUrl);
        Assert.Equal(new Uri("https://oauth2.googleapis.com/device/code"), account.DeviceCodeUrl);
        Assert.Equal("https://mail.google.com/", account.Scope);
    }

    [Fact]
    public void ReadFile_PlainHttpAuthorityOnLoopback_IsAccepted()
    {
        var result = Read(Minimal + "authority = http://127.0.0.1:5001\n");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(new Uri("http://127.0.0.1:5001/common/oauth2/v2.0/token"), result.Config!.FindAccount("a")!.TokenUrl);
    }

    [Fact]
    public void ReadFile_SeveralGeneralMistakes_ListedInTheOrderTheyAlwaysWere()
    {
        // Keys written in an order unlike the reading order, so that the file's order does not decide.
        var result = Read("""
            [general]
            pop_listen = nowhere
            smtp_listen = nowhere
            imap_listen = nowhere
            log_level = loud
            local_server_auth = maybe
            local_certificate = missing.pem
            wait_for_authorization = 9999
            local_tls = sometimes
            log_format = xml
            redirect_uri = ftp://example.com

            """ + Minimal);

        Assert.Equal(
            ["redirect_uri", "log_format", "local_tls", "wait_for_authorization", "local_key", "local_certificate",
                "local_server_auth", "log_level", "imap_listen", "smtp_listen", "pop_listen"],
            result.Errors.Select(e => e.Key));
    }

    [Fact]
    public void ReadFile_SeveralMistakes_AllAreReported()
    {
        var result = Read("""
            [general]
            log_level = loud
            imap_listen = nowhere

            [server s]
            imap_host = imap.example.com
            imap_port = 70000
            ssl = maybe

            [server t]
            smtp_port = 25

            [account a]
            server = y

            [account b]
            client_id = id
            authority = http://login.example.com
            password_hash = nope

            [account c]
            client_id = id

            """);

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        var found = result.Errors.Select(e => (e.Section, e.Key)).ToHashSet();
        Assert.Contains(("general", "log_level"), found);
        Assert.Contains(("general", "imap_listen"), found);
        Assert.Contains(("server s", "imap_port"), found);
        Assert.Contains(("server s", "ssl"), found);
        Assert.Contains(("account a", "server"), found);
        Assert.Contains(("account a", "client_id"), found);
        Assert.Contains(("account b", "authority"), found);
        Assert.Contains(("account b", "password_hash"), found);
        Assert.Contains(("account b", "server"), found);
        Assert.Contains(("account c", "server"), found);
        Assert.Contains(result.Errors, e => e.Section == "server t");
        Assert.Equal(11, result.Errors.Count);
    }

    [Fact]
    public void ReadFile_DuplicateKey_OneFileProblemAndNoException()
    {
        var result = Read(Minimal + "client_id = other\n");

        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("file", problem.Section);
        Assert.Null(problem.Key);
    }

    [Fact]
    public void ReadFile_MissingFile_OneFileProblem()
    {
        var path = _temp.Combine("absent.config");

        var result = ConfigReader.ReadFile(path);

        Assert.False(result.IsValid);
        var problem = Assert.Single(result.Errors);
        Assert.Equal("file", problem.Section);
        Assert.Contains(path, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_UnknownKeysAndSections_AreWarningsNotErrors()
    {
        var result = Read("""
            [general]
            colour = blue

            [server s]
            imap_host = imap.example.com
            imap_speed = fast

            [account a]
            client_id = id
            nickname = boss

            [misc]
            anything = goes

            """);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Errors);
        var warned = result.Warnings.Select(w => (w.Section, w.Key)).ToHashSet();
        Assert.Contains(("general", "colour"), warned);
        Assert.Contains(("server s", "imap_speed"), warned);
        Assert.Contains(("account a", "nickname"), warned);
        Assert.Contains(result.Warnings, w => w.Section == "misc");
    }

    [Fact]
    public void ReadFile_UpperCaseSectionAndKeyNames_AreRead()
    {
        var result = Read("""
            [GENERAL]
            Log_Level = warning
            IMAP_LISTEN = 127.0.0.1:2993

            [Server S]
            Imap_Host = imap.example.com
            IMAP_PORT = 1993

            [ACCOUNT Someone@Example.com]
            Client_ID = id
            SERVER = s

            """);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        var config = result.Config!;
        Assert.Equal(LogLevel.Warning, config.General.LogLevel);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 2993), config.General.ImapListen);
        Assert.Equal(1993, config.Servers["s"].ImapPort);
        var account = config.FindAccount("someone@example.com");
        Assert.NotNull(account);
        Assert.Equal("id", account.ClientId);
    }

    [Fact]
    public void ReadFile_EveryKeyOfConfigKeys_IsKnown()
    {
        static string Section(string header, IEnumerable<string> keys) => $"[{header}]\n" + string.Concat(keys.Select(k => $"{k} =\n"));
        var ini = Section("general", ConfigKeys.General.All) + Section("server s", ConfigKeys.Server.All.Append(ConfigKeys.Server.ImapHost + "2"))
            + Section("account a", ConfigKeys.Account.All);

        var result = Read(ini);

        var unknown = Assert.Single(result.Warnings, w => w.Message.StartsWith("unknown key", StringComparison.Ordinal));
        Assert.Equal(("server s", "imap_host2"), (unknown.Section, unknown.Key));
    }

    [Fact]
    public void ReadFile_OnlyRequiredKeys_OptionsAreTheRecordDefaults()
    {
        var result = Read(Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(new GeneralOptions(), result.Config!.General);
        Assert.Equal(new ServerOptions("s") { ImapHost = "imap.example.com" }, result.Config.Servers["s"]);
        var account = result.Config.FindAccount("a")!;
        Assert.Equal(AccountOptions.DefaultTenant, account.Tenant);
        Assert.Equal(AccountOptions.DefaultFlow, account.Flow);
        Assert.Equal(AccountOptions.DefaultProvider, account.Provider);
    }

    [Theory]
    [InlineData("OFF", "Json", nameof(LocalTlsMode.Off), nameof(LogFormat.Json))]
    [InlineData("auto", "text", nameof(LocalTlsMode.Auto), nameof(LogFormat.Text))]
    public void ReadFile_LocalTlsAndLogFormat_AreReadAsEnums(string localTls, string logFormat, string tls, string format)
    {
        var result = Read($"[general]\nlocal_tls = {localTls}\nlog_format = {logFormat}\n" + Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(Enum.Parse<LocalTlsMode>(tls), result.Config!.General.LocalTls);
        Assert.Equal(Enum.Parse<LogFormat>(format), result.Config.General.LogFormat);
    }

    [Fact]
    public void ReadFile_ListenerTlsKeys_OverrideLocalTlsPerListener()
    {
        var result = Read("[general]\nlocal_tls = starttls\nimap_tls = implicit\npop_listen = 127.0.0.1:1995\npop_tls = OFF\n" + Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var general = result.Config!.General;
        Assert.Equal(LocalTlsMode.Implicit, general.TlsOf(MailListenerKind.Imap));
        Assert.Equal(LocalTlsMode.StartTls, general.TlsOf(MailListenerKind.Smtp));
        Assert.Equal(LocalTlsMode.Off, general.TlsOf(MailListenerKind.Pop));
        Assert.True(general.AnyLocalTls);
    }

    [Fact]
    public void ReadFile_EveryListenerOff_NeedsNoLocalTls()
    {
        var result = Read("[general]\nimap_tls = off\nsmtp_tls = off\npop_tls = implicit\n" + Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        // pop_tls names TLS, but POP is not listened on (pop_listen is off by default): no certificate is needed.
        Assert.False(result.Config!.General.AnyLocalTls);
    }

    [Fact]
    public void ReadFile_TlsDir_IsRelativeToTheConfigFilesFolder()
    {
        var result = Read("[general]\ntls_dir = state/tls\n" + Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(Path.Combine(result.Config!.ConfigDirectory, "state", "tls"), result.Config.TlsDirectory);
        Assert.Equal(Path.Combine(result.Config.ConfigDirectory, "tls"), Read(Minimal).Config!.TlsDirectory);
    }

    [Theory]
    [InlineData("local_tls = maybe", "[general] local_tls = 'maybe': must be one of auto, starttls, implicit, off")]
    [InlineData("smtp_tls = yes", "[general] smtp_tls = 'yes': must be one of auto, starttls, implicit, off")]
    [InlineData("log_format = xml", "[general] log_format = 'xml': must be one of text, json")]
    public void ReadFile_UnknownEnumValue_ErrorListsTheValues(string line, string expected)
    {
        var result = Read($"[general]\n{line}\n" + Minimal);

        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void ReadFile_EmptyListen_TurnsProtocolOff()
    {
        var result = Read("[general]\nsmtp_listen =\n" + Minimal);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Null(result.Config!.General.SmtpListen);
        Assert.NotNull(result.Config.General.ImapListen);
    }
}
