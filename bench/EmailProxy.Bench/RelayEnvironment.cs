using System.Text;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// What the relay mode runs against: the fake identity server, the real Dovecot of the functional tests (IMAP, POP3
/// and submission on implicit TLS with the test CA's RSA certificate, the account's mail delivered into its maildir),
/// and a proxy per client-side mode, each signed in and pointed at Dovecot (IMAP and POP3 on implicit TLS, submission
/// with STARTTLS: the proxy takes implicit TLS for SMTP on port 465 only).
/// </summary>
internal sealed class RelayEnvironment : IAsyncDisposable
{
    public const string SmallFolder = "Small";

    private readonly List<ProxyInstance> _proxies = [];

    private RelayEnvironment(string directory, FakeIdentityServer identity, DovecotFixture dovecot, byte[] bigMessage)
    {
        Directory = directory;
        Identity = identity;
        Dovecot = dovecot;
        BigMessage = bigMessage;
    }

    public string Directory { get; }

    public FakeIdentityServer Identity { get; }

    public DovecotFixture Dovecot { get; }

    /// <summary>The big message as delivered (CRLF lines, no line starting with a dot, so DATA needs no stuffing).</summary>
    public byte[] BigMessage { get; }

    public static TestCertificates Certificates => TestCertificates.Trusted;

    public string CaFile => Path.Combine(Directory, "ca.pem");

    /// <summary>Dovecot's certificate and key, which socat and the proxy present to the client in the TLS mode too.</summary>
    public (string Certificate, string Key) ServerPem => (Path.Combine(Dovecot.Directory, "server.pem"), Path.Combine(Dovecot.Directory, "server.key"));

    /// <summary>The pid of Dovecot's master process (its base_dir/master.pid).</summary>
    public int DovecotPid => int.Parse(File.ReadAllText(Path.Combine(Dovecot.Directory, "run", "master.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<RelayEnvironment> CreateAsync(RelayOptions options)
    {
        var directory = Path.Combine(Path.GetTempPath(), "emailproxy-relay-bench-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        var dovecot = new DovecotFixture();
        try
        {
            await dovecot.InitializeAsync();
        }
        catch
        {
            await identity.DisposeAsync();
            throw;
        }
        dovecot.Introspection.Use(identity);
        var big = BuildMessage(options.BigMessageBytes, "big");
        dovecot.Deliver(null, big);
        for (var i = 0; i < options.SmallMessages; i++)
        {
            dovecot.Deliver(SmallFolder, BuildMessage(options.SmallMessageBytes, $"small {i}"));
        }
        var environment = new RelayEnvironment(directory, identity, dovecot, big);
        Certificates.WriteCaPem(environment.CaFile);
        return environment;
    }

    /// <summary>Starts a proxy (plaintext or implicit TLS towards the clients, all three protocols) and signs the account in.</summary>
    public async Task<RelayProxy> StartProxyAsync(bool clientTls, CancellationToken cancellationToken)
    {
        var n = _proxies.Count + 1;
        var imap = BenchEnvironment.GetFreePort();
        var pop = BenchEnvironment.GetFreePort();
        var smtp = BenchEnvironment.GetFreePort();
        var http = BenchEnvironment.GetFreePort();
        var (certificate, key) = ServerPem;
        var localTls = clientTls ? $"local_tls = implicit\nlocal_certificate = {certificate}\nlocal_key = {key}" : "local_tls = off";
        var config = $"""
            [general]
            redirect_uri = http://127.0.0.1:{http}
            log_level = warning
            {localTls}
            imap_listen = 127.0.0.1:{imap}
            pop_listen = 127.0.0.1:{pop}
            smtp_listen = 127.0.0.1:{smtp}
            token_dir = {Path.Combine(Directory, $"tokens-{n}")}
            secret_file = {Path.Combine(Directory, $"emailproxy-{n}.key")}

            [server dovecot]
            imap_host = 127.0.0.1
            imap_port = {Dovecot.ImapsPort}
            pop_host = 127.0.0.1
            pop_port = {Dovecot.PopsPort}
            smtp_host = 127.0.0.1
            smtp_port = {Dovecot.SubmissionPort}
            ssl = true
            starttls = true
            ca_file = {CaFile}

            [account {BenchEnvironment.Account}]
            client_id = {Identity.ClientId}
            tenant = {Identity.Tenant}
            authority = {Identity.Authority}
            server = dovecot
            scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access

            """;
        var path = Path.Combine(Directory, $"emailproxy-{n}.ini");
        await File.WriteAllTextAsync(path, config, cancellationToken);
        var proxy = await ProxyInstance.StartAsync(path, imap, http, cancellationToken);
        _proxies.Add(proxy);
        await BenchEnvironment.SignInAsync(proxy, cancellationToken);
        return new RelayProxy(proxy, imap, pop, smtp, clientTls);
    }

    /// <summary>An XOAUTH2 initial response with a fresh token, for the clients that log in to Dovecot themselves.</summary>
    public string InitialResponse() => XOAuth2Response.Encode(BenchEnvironment.Account, Identity.IssueTokenForTests(BenchEnvironment.Account).AccessToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }
        await Dovecot.DisposeAsync();
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

    /// <summary>A plain-text message of <paramref name="size"/> bytes: headers, then 78-byte CRLF lines, none starting with a dot.</summary>
    private static byte[] BuildMessage(int size, string subject)
    {
        var message = new byte[size];
        var header = Encoding.ASCII.GetBytes($"From: {BenchEnvironment.Account}\r\nTo: customer@example.org\r\nSubject: {subject}\r\nDate: Sun, 6 Dec 2026 09:30:00 +0000\r\nMessage-ID: <{Guid.NewGuid():N}@bench.test>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        header.CopyTo(message, 0);
        var line = Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuv\r\n");
        for (var offset = header.Length; offset < size; offset += line.Length)
        {
            line.AsSpan(0, Math.Min(line.Length, size - offset)).CopyTo(message.AsSpan(offset));
        }
        message[^2] = (byte)'\r';
        message[^1] = (byte)'\n';
        return message;
    }
}
