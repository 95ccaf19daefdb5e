using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Everything one functional test needs: a temporary folder, free ports for the proxy, the fake identity server,
/// the fake Exchange IMAP server, the proxy's configuration file, and the proxies it started (disposed with it).
/// </summary>
internal sealed partial class TestEnvironment : IAsyncDisposable
{
    public const string Account = "user@example.com";
    public const string ServerName = "fake";

    private readonly List<ProxyProcess> _proxies = [];

    private TestEnvironment(string directory, FakeIdentityServer identity, FakeExchangeImapServer imap, FakeExchangeSmtpServer smtp, FakeExchangePop3Server pop)
    {
        Directory = directory;
        Identity = identity;
        Imap = imap;
        Smtp = smtp;
        Pop = pop;
        ImapPort = GetFreePort();
        SmtpPort = GetFreePort();
        PopPort = GetFreePort();
        HttpPort = GetFreePort();
    }

    /// <summary>The temporary folder, deleted on dispose.</summary>
    public string Directory { get; }

    public FakeIdentityServer Identity { get; }

    public FakeExchangeImapServer Imap { get; }

    public FakeExchangeSmtpServer Smtp { get; }

    /// <summary>The fake Exchange POP3 server (implicit TLS, like outlook.office365.com:995).</summary>
    public FakeExchangePop3Server Pop { get; }

    /// <summary>The port the proxy's POP3 listener is configured on.</summary>
    public int PopPort { get; }

    /// <summary>The private CA the proxy generates for local TLS (under the config folder's tls/).</summary>
    public string LocalCaFile => Path.Combine(Directory, "tls", "ca.pem");

    /// <summary>The port the proxy's SMTP listener is configured on.</summary>
    public int SmtpPort { get; }

    /// <summary>The port the proxy's IMAP listener is configured on.</summary>
    public int ImapPort { get; }

    /// <summary>The port of the proxy's redirect_uri (its HTTP listener).</summary>
    public int HttpPort { get; }

    public string RedirectUri => $"http://127.0.0.1:{HttpPort}";

    public string TokenDirectory => Path.Combine(Directory, "tokens");

    public string SecretFile => Path.Combine(Directory, "emailproxy.key");

    /// <summary>The trusted test CA as PEM (always the trusted one, even when the fake IMAP server uses the untrusted certificate).</summary>
    public string CaFile => Path.Combine(Directory, "test-ca.pem");

    public string ConfigPath => Path.Combine(Directory, "emailproxy.ini");

    /// <summary>The safety timeout of <see cref="SignInAsync"/> when none is given.</summary>
    public TimeSpan SafetyTimeout { get; set; } = ObservableLog.DefaultTimeout;

    /// <param name="untrustedUpstream">The fake IMAP server presents a certificate from an unrelated CA.</param>
    /// <param name="upstreamSaslIr">The fake IMAP server advertises SASL-IR (else clients must use the two-step form).</param>
    public static async Task<TestEnvironment> CreateAsync(bool untrustedUpstream = false, bool upstreamSaslIr = true)
    {
        var directory = Path.Combine(Path.GetTempPath(), "emailproxy-ft-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        var imap = new FakeExchangeImapServer(identity, untrustedUpstream, upstreamSaslIr);
        imap.Start();
        var smtp = new FakeExchangeSmtpServer(identity);
        smtp.Start();
        var pop = new FakeExchangePop3Server(identity);
        pop.Start();
        var environment = new TestEnvironment(directory, identity, imap, smtp, pop);
        TestCertificates.Trusted.WriteCaPem(environment.CaFile);
        return environment;
    }

    /// <summary>
    /// A TCP port on 127.0.0.1 for a listener the test will start. Taken from below the kernel's
    /// ephemeral range (32768–60999 on Linux), so that none of the many outgoing connections of the
    /// suite can be given it as a source port before the listener binds it; a process-wide counter
    /// keeps two tests from picking the same one, and a bind checks that nothing else holds it.
    /// </summary>
    public static int GetFreePort()
    {
        while (true)
        {
            var port = FirstTestPort + (int)((uint)Interlocked.Increment(ref _nextPort) % TestPortCount);
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Held by something else on this machine: take the next one.
            }
            finally
            {
                listener.Stop();
            }
        }
    }

    private const int FirstTestPort = 20000;
    private const int TestPortCount = 12000;
    private static int _nextPort = Random.Shared.Next(TestPortCount);

    /// <summary>
    /// The default configuration text (see the class documentation of the test plan). Local TLS is off: on
    /// <c>auto</c> every plaintext connection would wait for a ClientHello first; a test about TLS sets its modes
    /// with <see cref="WithLocalTls"/>.
    /// </summary>
    public string BuildConfig() =>
        $"""
        [general]
        redirect_uri = {RedirectUri}
        log_level = trace
        imap_listen = 127.0.0.1:{ImapPort}
        smtp_listen = 127.0.0.1:{SmtpPort}
        pop_listen = 127.0.0.1:{PopPort}
        token_dir = {TokenDirectory}
        secret_file = {SecretFile}
        {LocalTlsOff}

        [server {ServerName}]
        imap_host = 127.0.0.1
        imap_port = {Imap.Port}
        smtp_host = 127.0.0.1
        smtp_port = {Smtp.Port}
        pop_host = 127.0.0.1
        pop_port = {Pop.Port}
        ca_file = {CaFile}

        [account {Account}]
        client_id = {Identity.ClientId}
        tenant = {Identity.Tenant}
        authority = {Identity.Authority}
        server = {ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access

        """;

    /// <summary>The default configuration's local TLS line.</summary>
    public const string LocalTlsOff = "local_tls = off";

    /// <summary>A <see cref="WriteConfig"/> transform that puts <paramref name="lines"/> (e.g. <c>local_tls = auto</c>, or <c>smtp_tls = starttls</c> lines) in place of <see cref="LocalTlsOff"/>.</summary>
    public static Func<string, string> WithLocalTls(string lines) => text => text.Replace(LocalTlsOff, lines, StringComparison.Ordinal);

    /// <summary>Writes the configuration file and returns its path.</summary>
    /// <param name="append">Text appended after the default configuration (e.g. more sections).</param>
    /// <param name="transform">Applied to the whole text last (e.g. to replace or remove a line).</param>
    public string WriteConfig(string? append = null, Func<string, string>? transform = null)
    {
        var text = BuildConfig() + (append ?? string.Empty);
        if (transform is not null)
        {
            text = transform(text);
        }

        File.WriteAllText(ConfigPath, text);
        return ConfigPath;
    }

    /// <summary>A proxy process for <see cref="ConfigPath"/> (not started), disposed with the environment.</summary>
    public ProxyProcess CreateProxy(IReadOnlyDictionary<string, string?>? environment = null, IEnumerable<string>? extraArguments = null)
    {
        var proxy = new ProxyProcess(ConfigPath, environment, extraArguments, Directory);
        _proxies.Add(proxy);
        return proxy;
    }

    /// <summary>Writes the default configuration if none was written yet, starts a proxy and waits until it is ready.</summary>
    public async Task<ProxyProcess> StartProxyAsync(IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(ConfigPath))
        {
            WriteConfig();
        }

        var proxy = CreateProxy(environment);
        await proxy.StartAsync();
        return proxy;
    }

    /// <summary>
    /// Does what a person with a browser does: takes the first URL of the proxy's log line that mentions OAuth2,
    /// the account and an http URL, follows it (fake authorize, then its 302 to the proxy's redirect_uri) and
    /// returns the body of the final response.
    /// </summary>
    public async Task<string> SignInAsync(ProxyProcess proxy, string account = Account, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var line = await proxy.WaitForLineAsync(
            text => text.Contains("OAuth2", StringComparison.Ordinal)
                && text.Contains(account, StringComparison.OrdinalIgnoreCase)
                && UrlPattern().IsMatch(text),
            timeout ?? SafetyTimeout);
        var url = UrlPattern().Match(line).Value;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseProxy = false }) { Timeout = timeout ?? SafetyTimeout };
        using var response = await http.GetAsync(new Uri(url));
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// What a person does on the status page: opens it, presses "Sign in ACCOUNT" (a POST carrying the
    /// page's anti-forgery field and cookie), goes through the fake provider's authorize page and back to
    /// the proxy's redirect; returns the last page. A sign-in under way (one a login started) is joined.
    /// </summary>
    public async Task<string> SignInFromStatusPageAsync(string account = Account, TimeSpan? timeout = null)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseProxy = false, CookieContainer = new CookieContainer() })
        {
            Timeout = timeout ?? SafetyTimeout,
        };
        var page = await http.GetStringAsync(new Uri(RedirectUri + "/"));
        var token = FormTokenPattern().Match(page);
        if (!token.Success)
        {
            throw new InvalidOperationException($"The status page has no anti-forgery field: {page}");
        }
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", WebUtility.HtmlDecode(token.Groups[1].Value))]);
        using var response = await http.PostAsync(new Uri($"{RedirectUri}/accounts/{Uri.EscapeDataString(account)}/signin"), form);
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }

        await Imap.DisposeAsync();
        await Smtp.DisposeAsync();
        await Pop.DisposeAsync();
        await Identity.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary folder left behind does no harm.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenPattern();
}
