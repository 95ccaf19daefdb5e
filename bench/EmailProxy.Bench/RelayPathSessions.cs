namespace EmailProxy.Bench;

/// <summary>
/// One path's logged-in sessions of a client-side mode (IMAP, POP3, SMTP), and how to read the CPU of the process
/// that relays them: the proxy's, or the sum of the socats' (one per session), or none for the direct path.
/// </summary>
internal sealed class RelayPathSessions : IAsyncDisposable
{
    private readonly List<SocatRelay> _socats;
    private readonly ProxyInstance? _proxy;

    private RelayPathSessions(RelayPath path, RelayClient imap, RelayClient pop, RelayClient smtp, List<SocatRelay> socats, ProxyInstance? proxy)
    {
        Path = path;
        Imap = imap;
        Pop = pop;
        Smtp = smtp;
        _socats = socats;
        _proxy = proxy;
    }

    public RelayPath Path { get; }

    public RelayClient Imap { get; }

    public RelayClient Pop { get; }

    public RelayClient Smtp { get; }

    /// <summary>The relaying process's user + system CPU so far (zero for direct).</summary>
    public TimeSpan RelayCpu() => _proxy?.ReadCpuTime() ?? _socats.Aggregate(TimeSpan.Zero, (sum, socat) => sum + socat.ReadCpuTime());

    /// <summary>Opens and logs in the three sessions of <paramref name="path"/>; the proxy logs in upstream itself, the others with XOAUTH2.</summary>
    public static async Task<RelayPathSessions> OpenAsync(RelayPath path, RelayEnvironment environment, RelayProxy proxy, CancellationToken cancellationToken)
    {
        var socats = new List<SocatRelay>();
        var clients = new List<RelayClient>();
        var dovecot = environment.Dovecot;
        var clientTls = proxy.ClientTls ? RelayEnvironment.Certificates : null;
        try
        {
            async Task<RelayClient> ConnectAsync(int dovecotPort, int proxyPort)
            {
                RelayClient client;
                switch (path)
                {
                    case RelayPath.Direct:
                        client = await RelayClient.ConnectAsync(dovecotPort, RelayEnvironment.Certificates, cancellationToken);
                        break;
                    case RelayPath.Socat:
                        var socat = await SocatRelay.StartAsync(dovecotPort, environment.CaFile, proxy.ClientTls ? environment.ServerPem : null, cancellationToken);
                        socats.Add(socat);
                        client = await RelayClient.ConnectAsync(socat.Port, clientTls, cancellationToken);
                        break;
                    default:
                        client = await RelayClient.ConnectAsync(proxyPort, clientTls, cancellationToken);
                        break;
                }
                clients.Add(client);
                return client;
            }

            var viaProxy = path == RelayPath.Proxy;
            var imap = await ConnectAsync(dovecot.ImapsPort, proxy.ImapPort);
            await imap.ReadLineAsync(cancellationToken);
            await imap.ImapOkAsync("a", viaProxy ? $"LOGIN {BenchEnvironment.Account} {BenchEnvironment.Password}" : "AUTHENTICATE XOAUTH2 " + environment.InitialResponse(), cancellationToken);

            var pop = await ConnectAsync(dovecot.PopsPort, proxy.PopPort);
            await pop.Pop3OkAsync("", cancellationToken);
            if (viaProxy)
            {
                await pop.Pop3OkAsync($"USER {BenchEnvironment.Account}", cancellationToken);
                await pop.Pop3OkAsync($"PASS {BenchEnvironment.Password}", cancellationToken);
            }
            else
            {
                await pop.Pop3OkAsync("AUTH XOAUTH2 " + environment.InitialResponse(), cancellationToken);
            }

            var smtp = await ConnectAsync(dovecot.SubmissionsPort, proxy.SmtpPort);
            await smtp.SmtpAsync(null, 220, cancellationToken);
            await smtp.SmtpAsync("EHLO bench.test", 250, cancellationToken);
            var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{BenchEnvironment.Account}\0{BenchEnvironment.Password}"));
            await smtp.SmtpAsync(viaProxy ? "AUTH PLAIN " + plain : "AUTH XOAUTH2 " + environment.InitialResponse(), 235, cancellationToken);

            return new RelayPathSessions(path, imap, pop, smtp, socats, viaProxy ? proxy.Instance : null);
        }
        catch
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            foreach (var socat in socats)
            {
                await socat.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>Logs out of the three sessions (so that Dovecot's per-user connection count goes down) and stops the socats.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await Imap.ImapOkAsync("z", "LOGOUT", timeout.Token);
            await Pop.Pop3OkAsync("QUIT", timeout.Token);
            await Smtp.SmtpAsync("QUIT", 221, timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // Closed below either way.
        }
        await Imap.DisposeAsync();
        await Pop.DisposeAsync();
        await Smtp.DisposeAsync();
        foreach (var socat in _socats)
        {
            await socat.DisposeAsync();
        }
    }
}
