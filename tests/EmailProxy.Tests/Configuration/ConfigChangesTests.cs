using System.Collections;
using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Configuration;

/// <summary><see cref="ConfigChanges"/>: what a reload changes, the keys it keeps until a restart, and its one-line summary.</summary>
public sealed class ConfigChangesTests
{
    private const string Path = "/etc/emailproxy/emailproxy.ini";

    private static readonly ServerOptions Outlook = new("outlook") { ImapHost = "outlook.office365.com", SmtpHost = "smtp.office365.com" };

    private static ProxyConfig Config(GeneralOptions? general = null, IEnumerable<ServerOptions>? servers = null, IEnumerable<AccountOptions>? accounts = null) =>
        new(Path, general ?? new GeneralOptions(),
            (servers ?? [Outlook]).ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase),
            (accounts ?? [TestAccounts.Create("a1@example.com")]).ToDictionary(a => a.Name, StringComparer.OrdinalIgnoreCase));

    private static ConfigChanges Compare(ProxyConfig running, ProxyConfig file)
    {
        var (pinned, restart) = ConfigChanges.Pin(running, file);
        return ConfigChanges.Of(running, pinned, restart);
    }

    [Fact]
    public void ToString_SameFile_NoChanges()
    {
        var changes = Compare(Config(), Config());

        Assert.True(changes.None);
        Assert.Equal("no changes", changes.ToString());
    }

    [Fact]
    public void ToString_AccountsServersAndListener_OneLineInTheDocumentedOrder()
    {
        var a1 = TestAccounts.Create("a1@example.com");
        var a3 = TestAccounts.Create("a3@example.com");
        var running = Config(
            new GeneralOptions { ImapListen = new IPEndPoint(IPAddress.Loopback, 1993) },
            [Outlook],
            [a1, a3]);
        var file = Config(
            new GeneralOptions { ImapListen = new IPEndPoint(IPAddress.Loopback, 2993), TokenDirectory = "/var/lib/other" },
            [Outlook with { ImapPort = 1143, Ssl = false }],
            [a1 with { PasswordHash = "pbkdf2-sha256$1$c2FsdA==$aGFzaA==" }, TestAccounts.Create("a2@example.com")]);

        var changes = Compare(running, file);

        Assert.Equal(
            "accounts added a2@example.com, removed a3@example.com, changed a1@example.com; servers changed outlook; IMAP listener moved 127.0.0.1:1993 -> 127.0.0.1:2993; needs a restart: token_dir",
            changes.ToString());
        Assert.Empty(changes.OAuthChanged);
    }

    [Fact]
    public void ToString_SecretChanged_NamesTheAccountNeverTheValue()
    {
        var running = Config(accounts: [TestAccounts.Create("a1@example.com") with { ClientSecret = "old-secret-value" }]);
        var file = Config(
            new GeneralOptions { MetricsToken = "new-metrics-token", AdminPassword = "pbkdf2-sha256$1$c2FsdA==$bmV3" },
            accounts: [TestAccounts.Create("a1@example.com") with { ClientSecret = "new-secret-value" }]);

        var summary = Compare(running, file).ToString();

        Assert.Equal("accounts changed a1@example.com; changed admin_password, metrics_token", summary);
        Assert.DoesNotContain("secret-value", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("new-metrics-token", summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("client_id")]
    [InlineData("client_secret")]
    [InlineData("tenant")]
    [InlineData("scope")]
    [InlineData("flow")]
    [InlineData("token_url")]
    [InlineData("authorize_url")]
    [InlineData("provider")]
    [InlineData("client_certificate")]
    public void Of_OAuthSettingChanged_AccountIsAmongThoseWhoseTokenIsDropped(string key)
    {
        var before = TestAccounts.Create("a1@example.com");
        var after = key switch
        {
            "client_id" => before with { ClientId = "other" },
            "client_secret" => before with { ClientSecret = "other" },
            "tenant" => before with { Tenant = "other" },
            "scope" => before with { Scope = "other" },
            "flow" => before with { Flow = OAuthFlow.DeviceCode },
            "token_url" => before with { TokenUrl = new Uri("https://other.example/token") },
            "authorize_url" => before with { AuthorizeUrl = new Uri("https://other.example/authorize") },
            "provider" => before with { Provider = OAuthProvider.Google },
            _ => before with { ClientCertificate = "/etc/other.pem" },
        };

        var changes = Compare(Config(accounts: [before]), Config(accounts: [after]));

        Assert.Equal(["a1@example.com"], changes.OAuthChanged);
        Assert.Equal(["a1@example.com"], changes.AccountsChanged);
    }

    [Fact]
    public void Of_AllowIdentityWrittenAgainTheSame_NoChange()
    {
        var before = TestAccounts.Create("a1@example.com") with { AllowIdentity = ["boss@example.com"] };
        var after = TestAccounts.Create("a1@example.com") with { AllowIdentity = ["boss@example.com"] };

        Assert.True(Compare(Config(accounts: [before]), Config(accounts: [after])).None);
        Assert.False(Compare(Config(accounts: [before]), Config(accounts: [after with { AllowIdentity = ["other@example.com"] }])).None);
    }

    [Fact]
    public void Of_ServerAddedAndRemoved_Named()
    {
        var gmail = new ServerOptions("gmail") { ImapHost = "imap.gmail.com" };

        Assert.Equal("servers added gmail, removed outlook", Compare(Config(servers: [Outlook]), Config(servers: [gmail])).ToString());
    }

    [Fact]
    public void Of_ListenerTurnedOnOffAndTlsChanged_EachRebound()
    {
        var running = Config(new GeneralOptions
        {
            ImapListen = new IPEndPoint(IPAddress.Loopback, 1993),
            SmtpListen = new IPEndPoint(IPAddress.Loopback, 1587),
            PopListen = null,
        });
        var file = Config(new GeneralOptions
        {
            ImapListen = new IPEndPoint(IPAddress.Loopback, 1993),
            ImapTls = LocalTlsMode.Implicit,
            SmtpListen = null,
            PopListen = new IPEndPoint(IPAddress.Loopback, 1995),
        });

        var changes = Compare(running, file);

        Assert.Equal(
            "IMAP listener on 127.0.0.1:1993: TLS auto -> implicit; SMTP listener off (was 127.0.0.1:1587); POP3 listener on 127.0.0.1:1995 (TLS auto)",
            changes.ToString());
        Assert.Equal([MailListenerKind.Imap, MailListenerKind.Smtp, MailListenerKind.Pop], changes.Listeners.Select(l => l.Kind));
    }

    [Fact]
    public void Of_TlsOfAListenerThatStaysOff_NoChange()
    {
        var running = Config(new GeneralOptions { PopListen = null });
        var file = Config(new GeneralOptions { PopListen = null, PopTls = LocalTlsMode.Implicit });

        Assert.True(Compare(running, file).None);
    }

    [Fact]
    public void Pin_RestartOnlyKeysChanged_KeepTheRunningValuesAndTheRestIsTaken()
    {
        var running = Config(new GeneralOptions());
        var file = Config(new GeneralOptions
        {
            TokenDirectory = "/other/tokens",
            SecretFile = "/other/key",
            TlsDirectory = "/other/tls",
            WebListen = new IPEndPoint(IPAddress.Any, 8080),
            RedirectUri = new Uri("http://proxy.example:8080"),
            LogLevel = LogLevel.Debug,
            LogFormat = LogFormat.Json,
            LocalTlsNames = ["proxy.example"],
            WaitForAuthorization = TimeSpan.FromSeconds(30),
        });

        var (pinned, restart) = ConfigChanges.Pin(running, file);

        Assert.Equal(["token_dir", "secret_file", "tls_dir", "local_tls_names", "web_listen", "redirect_uri", "log_format"], restart);
        Assert.Equal(running.General with { WaitForAuthorization = TimeSpan.FromSeconds(30), LogLevel = LogLevel.Debug }, pinned.General);
        Assert.Equal(running.TokenDirectory, pinned.TokenDirectory);
        Assert.Equal("changed wait_for_authorization, log_level; needs a restart: token_dir, secret_file, tls_dir, local_tls_names, web_listen, redirect_uri, log_format",
            ConfigChanges.Of(running, pinned, restart).ToString());
    }

    /// <summary>
    /// Every <c>[general]</c> key is either applied (and named in the summary) or kept until a restart (and named as such):
    /// a key added later that is neither would be taken silently, or ignored silently.
    /// </summary>
    [Fact]
    public void Of_AnyGeneralKeyChanged_SaidInTheSummary()
    {
        // Every listener on: the TLS mode of one that is off changes nothing.
        var running = Config(new GeneralOptions { PopListen = new IPEndPoint(IPAddress.Loopback, 1995) });
        foreach (var property in typeof(GeneralOptions).GetProperties().Where(p => p.CanWrite))
        {
            var general = running.General with { };
            property.SetValue(general, OtherValue(property.PropertyType, property.GetValue(general)));

            var changes = Compare(running, Config(general));

            Assert.False(changes.None, $"A change of GeneralOptions.{property.Name} is neither applied nor named as needing a restart");
        }
    }

    private static object? OtherValue(Type type, object? value) => value switch
    {
        bool flag => !flag,
        string text => text + "-other",
        Uri uri => new Uri(uri, "/other"),
        TimeSpan span => span + TimeSpan.FromSeconds(1),
        IPEndPoint endPoint => new IPEndPoint(endPoint.Address, endPoint.Port + 1),
        LogLevel level => level == LogLevel.Debug ? LogLevel.Trace : LogLevel.Debug,
        LogFormat format => format == LogFormat.Json ? LogFormat.Text : LogFormat.Json,
        LocalTlsMode mode => mode == LocalTlsMode.Implicit ? LocalTlsMode.StartTls : LocalTlsMode.Implicit,
        TokenStoreKind store => store == TokenStoreKind.File ? TokenStoreKind.Redis : TokenStoreKind.File,
        IList => new List<string> { "other.example" },
        null when Nullable.GetUnderlyingType(type) == typeof(LocalTlsMode) => LocalTlsMode.Implicit,
        null when type == typeof(IPEndPoint) => new IPEndPoint(IPAddress.Loopback, 1995),
        null when type == typeof(string) => "pbkdf2-sha256$1$c2FsdA==$aGFzaA==",
        _ => throw new InvalidOperationException($"No other value for {type.Name}: teach this test the new key's type"),
    };
}
