using System.Text;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Graph;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// What the <c>graph</c> mode runs against: the fake identity server, the fake of Microsoft Graph of the functional
/// tests (its own loopback HTTPS port, the test CA, checking every token and keeping every message), the real Dovecot
/// of the functional tests (submission, relaying to its SMTP sink, as the relay mode uses it), and two proxies signed
/// in to the same account: one with <c>smtp_via = graph</c>, one with <c>smtp_via = smtp</c> to Dovecot's submission.
/// Three paths: direct to Dovecot's submission (XOAUTH2 on implicit TLS), through the proxy over SMTP, through the
/// proxy over Graph; the client side of the proxies is plaintext on loopback.
/// </summary>
internal sealed class GraphBenchEnvironment : IAsyncDisposable
{
    private const string Recipient = "customer@example.org";

    private readonly List<ProxyInstance> _proxies = [];

    private GraphBenchEnvironment(string directory, FakeIdentityServer identity, DovecotFixture dovecot, FakeGraphServer graph, byte[] message)
    {
        Directory = directory;
        Identity = identity;
        Dovecot = dovecot;
        Graph = graph;
        Message = message;
    }

    public string Directory { get; }

    public FakeIdentityServer Identity { get; }

    public DovecotFixture Dovecot { get; }

    public FakeGraphServer Graph { get; }

    /// <summary>The message every path sends (CRLF lines, none starting with a dot: DATA needs no stuffing).</summary>
    public byte[] Message { get; }

    public ProxyInstance? SmtpProxy { get; private set; }

    public ProxyInstance? GraphProxy { get; private set; }

    private int SmtpProxyPort { get; set; }

    private int GraphProxyPort { get; set; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public static async Task<GraphBenchEnvironment> CreateAsync(GraphBenchOptions options, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "emailproxy-graph-bench-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var identity = new FakeIdentityServer();
        await identity.StartAsync();
        var dovecot = new DovecotFixture();
        var graph = new FakeGraphServer(identity);
        GraphBenchEnvironment? environment = null;
        try
        {
            await dovecot.InitializeAsync();
            dovecot.Introspection.Use(identity);
            await graph.StartAsync();
            environment = new GraphBenchEnvironment(directory, identity, dovecot, graph, BuildMessage(options.MessageBytes));
            TestCertificates.Trusted.WriteCaPem(environment.CaFile);
            (environment.SmtpProxy, environment.SmtpProxyPort) = await environment.StartProxyAsync("smtp", cancellationToken);
            (environment.GraphProxy, environment.GraphProxyPort) = await environment.StartProxyAsync("graph", cancellationToken);
            return environment;
        }
        catch
        {
            if (environment is not null)
            {
                await environment.DisposeAsync();
            }
            else
            {
                await graph.DisposeAsync();
                await dovecot.DisposeAsync();
                await identity.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>The three paths, the baseline first.</summary>
    public IReadOnlyList<GraphBenchPath> Paths =>
    [
        new("direct to Dovecot's submission (XOAUTH2, TLS)", OpenDirectAsync),
        new("proxy, smtp_via = smtp (relay to Dovecot)", ct => OpenProxyAsync(SmtpProxyPort, ct)),
        new("proxy, smtp_via = graph (fake Graph)", ct => OpenProxyAsync(GraphProxyPort, ct)),
    ];

    /// <summary>One transaction of <see cref="Message"/>.</summary>
    public Task SendAsync(RelayClient session, CancellationToken cancellationToken) =>
        session.SmtpSendAsync(BenchEnvironment.Account, Recipient, Message, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }
        await Graph.DisposeAsync();
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

    private async Task<RelayClient> OpenDirectAsync(CancellationToken cancellationToken)
    {
        var session = await RelayClient.ConnectAsync(Dovecot.SubmissionsPort, TestCertificates.Trusted, cancellationToken);
        await session.SmtpAsync(null, 220, cancellationToken);
        await session.SmtpAsync("EHLO bench.test", 250, cancellationToken);
        var response = XOAuth2Response.Encode(BenchEnvironment.Account, Identity.IssueTokenForTests(BenchEnvironment.Account).AccessToken);
        await session.SmtpAsync("AUTH XOAUTH2 " + response, 235, cancellationToken);
        return session;
    }

    private static async Task<RelayClient> OpenProxyAsync(int port, CancellationToken cancellationToken)
    {
        var session = await RelayClient.ConnectAsync(port, null, cancellationToken);
        await session.SmtpAsync(null, 220, cancellationToken);
        await session.SmtpAsync("EHLO bench.test", 250, cancellationToken);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{BenchEnvironment.Account}\0{BenchEnvironment.Password}"));
        await session.SmtpAsync("AUTH PLAIN " + plain, 235, cancellationToken);
        return session;
    }

    private async Task<(ProxyInstance Proxy, int SmtpPort)> StartProxyAsync(string via, CancellationToken cancellationToken)
    {
        var imap = BenchEnvironment.GetFreePort();
        var smtp = BenchEnvironment.GetFreePort();
        var http = BenchEnvironment.GetFreePort();
        var config = $"""
            [general]
            redirect_uri = http://127.0.0.1:{http}
            log_level = warning
            local_tls = off
            imap_listen = 127.0.0.1:{imap}
            smtp_listen = 127.0.0.1:{smtp}
            token_dir = {Path.Combine(Directory, $"tokens-{via}")}
            secret_file = {Path.Combine(Directory, $"emailproxy-{via}.key")}

            [server dovecot]
            imap_host = 127.0.0.1
            imap_port = {Dovecot.ImapsPort}
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
            scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access
            smtp_via = {via}
            graph_url = {Graph.Url}

            """;
        var path = Path.Combine(Directory, $"emailproxy-{via}.ini");
        await File.WriteAllTextAsync(path, config, cancellationToken);
        var proxy = await ProxyInstance.StartAsync(path, imap, http, cancellationToken);
        _proxies.Add(proxy);
        await BenchEnvironment.SignInAsync(proxy, cancellationToken);
        return (proxy, smtp);
    }

    /// <summary>A plain-text message of <paramref name="size"/> bytes: headers (To is the envelope's recipient), then 78-byte CRLF lines.</summary>
    private static byte[] BuildMessage(int size)
    {
        var message = new byte[size];
        var header = Encoding.ASCII.GetBytes($"From: {BenchEnvironment.Account}\r\nTo: {Recipient}\r\nSubject: graph bench\r\nDate: Sun, 6 Dec 2026 09:30:00 +0000\r\nMessage-ID: <{Guid.NewGuid():N}@bench.test>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
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
