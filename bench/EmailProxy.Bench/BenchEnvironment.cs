using System.Net;
using System.Net.Sockets;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Identity;

namespace EmailProxy.Bench;

/// <summary>
/// What every part shares: a temporary folder, the fake identity server, the CA and the fast upstream, and the
/// proxy's configuration (one file per proxy instance, all with the same token folder and key, so a later
/// instance finds the account signed in).
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    public const string Account = "bench@example.com";
    public const string Password = "any-password";
    public const string ServerName = "bench";

    /// <summary>An account with a <c>password_hash</c> (of <see cref="GuardedPassword"/>), for part 5's guessers; never signed in.</summary>
    public const string GuardedAccount = "guarded@example.com";
    public const string GuardedPassword = "the-right-password";

    private static readonly Lazy<string> GuardedHash = new(() => new PasswordHasher<object>().HashPassword(new object(), GuardedPassword));

    private int _configs;

    private BenchEnvironment(string directory, FakeIdentityServer identity, TestCertificates certificates, FastImapServer upstream)
    {
        Directory = directory;
        Identity = identity;
        Certificates = certificates;
        Upstream = upstream;
    }

    public string Directory { get; }

    public FakeIdentityServer Identity { get; }

    public TestCertificates Certificates { get; }

    public FastImapServer Upstream { get; }

    public string CaFile => Path.Combine(Directory, "upstream-ca.pem");

    public static async Task<BenchEnvironment> CreateAsync(int messageBytes)
    {
        var directory = Path.Combine(Path.GetTempPath(), "emailproxy-bench-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        var certificates = TestCertificates.Ecdsa;
        var upstream = new FastImapServer(certificates, BuildMessage(messageBytes), identity.IsValid);
        upstream.Start();
        var environment = new BenchEnvironment(directory, identity, certificates, upstream);
        certificates.WriteCaPem(environment.CaFile);
        return environment;
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int GetFreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Starts a proxy on fresh ports with its own configuration file (warning-level logs, plaintext towards the
    /// clients, IMAP only, the upstream trusted through ca_file): the fast upstream, or <paramref name="upstream"/>
    /// (an implicit-TLS IMAP port on 127.0.0.1 and the file of the CA its certificate is signed by).
    /// </summary>
    public async Task<ProxyInstance> StartProxyAsync(CancellationToken cancellationToken, (int Port, string CaFile)? upstream = null)
    {
        var (path, imapPort, httpPort) = await WriteConfigAsync(upstream, cancellationToken);
        return await ProxyInstance.StartAsync(path, imapPort, httpPort, cancellationToken);
    }

    /// <summary>A fresh configuration file on fresh ports (see <see cref="StartProxyAsync"/>), for a proxy the caller starts.</summary>
    public async Task<(string Path, int ImapPort, int HttpPort)> WriteConfigAsync((int Port, string CaFile)? upstream, CancellationToken cancellationToken)
    {
        var imapPort = GetFreePort();
        var httpPort = GetFreePort();
        var path = Path.Combine(Directory, $"emailproxy-{Interlocked.Increment(ref _configs)}.ini");
        await File.WriteAllTextAsync(path, BuildConfig(imapPort, httpPort, upstream?.Port ?? Upstream.Port, upstream?.CaFile ?? CaFile), cancellationToken);
        return (path, imapPort, httpPort);
    }

    public string BuildConfig(int imapPort, int httpPort, int upstreamPort, string caFile) =>
        $"""
        [general]
        redirect_uri = http://127.0.0.1:{httpPort}
        log_level = warning
        local_tls = off
        imap_listen = 127.0.0.1:{imapPort}
        smtp_listen =
        pop_listen =
        token_dir = {Path.Combine(Directory, "tokens")}
        secret_file = {Path.Combine(Directory, "emailproxy.key")}

        [server {ServerName}]
        imap_host = 127.0.0.1
        imap_port = {upstreamPort}
        ca_file = {caFile}

        [account {Account}]
        client_id = {Identity.ClientId}
        tenant = {Identity.Tenant}
        authority = {Identity.Authority}
        server = {ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access

        [account {GuardedAccount}]
        client_id = {Identity.ClientId}
        tenant = {Identity.Tenant}
        authority = {Identity.Authority}
        server = {ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access
        password_hash = {GuardedHash.Value}

        """;

    /// <summary>
    /// Signs the account in as a person with a browser does: the status page's "Sign in" button (a POST with the
    /// page's anti-forgery token; a GET of the sign-in link only shows the button), the fake authorize endpoint, its
    /// redirect back to the proxy, which redeems the code. Then checks the status page.
    /// </summary>
    public static async Task SignInAsync(ProxyInstance proxy, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, UseProxy = false, CookieContainer = new System.Net.CookieContainer() })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var home = await http.GetStringAsync(new Uri($"http://127.0.0.1:{proxy.HttpPort}/"), cancellationToken);
        var token = System.Text.RegularExpressions.Regex.Match(home, "name=\"__csrf\" value=\"([^\"]+)\"");
        if (!token.Success)
        {
            throw new InvalidOperationException($"The status page has no anti-forgery field: {home}");
        }
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("__csrf", System.Net.WebUtility.HtmlDecode(token.Groups[1].Value))]);
        using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{proxy.HttpPort}/accounts/{Uri.EscapeDataString(Account)}/signin"), form, cancellationToken);
        var page = await response.Content.ReadAsStringAsync(cancellationToken);
        var status = await http.GetStringAsync(new Uri($"http://127.0.0.1:{proxy.HttpPort}/"), cancellationToken);
        if (!status.Contains("data-field=\"state\">Signed in", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The sign-in did not take: {page}");
        }
    }

    /// <summary>An XOAUTH2 initial response with a fresh token for the direct client.</summary>
    public string DirectInitialResponse()
    {
        var tokens = Identity.IssueTokenForTests(Account);
        return XOAuth2Response.Encode(Account, tokens.AccessToken);
    }

    public async ValueTask DisposeAsync()
    {
        await Upstream.DisposeAsync();
        await Identity.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary folder left behind does no harm.
        }
    }

    /// <summary>A plain-text message of about <paramref name="size"/> bytes: headers, then 78-character lines.</summary>
    private static byte[] BuildMessage(int size)
    {
        var message = new byte[size];
        var header = Encoding.ASCII.GetBytes($"From: sender@example.com\r\nTo: {Account}\r\nSubject: bench\r\nMessage-ID: <bench@example.com>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        header.CopyTo(message, 0);
        var line = Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuv\r\n");
        for (var offset = header.Length; offset < size; offset += line.Length)
        {
            line.AsSpan(0, Math.Min(line.Length, size - offset)).CopyTo(message.AsSpan(offset));
        }
        if (size >= 2)
        {
            message[^2] = (byte)'\r';
            message[^1] = (byte)'\n';
        }
        return message;
    }
}
