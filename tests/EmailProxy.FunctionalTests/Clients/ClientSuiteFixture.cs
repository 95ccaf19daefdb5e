using System.Diagnostics;
using System.Text;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// What every real-client test shares, made once for the collection: the real Dovecot of the functional tests, and
/// proxies signed in to it (IMAP and POP3 upstream over implicit TLS, submission over STARTTLS): one whose listeners are
/// all <c>auto</c> (plaintext and implicit TLS on one port) and one whose listeners are all <c>starttls</c>, both with
/// the same generated CA (<see cref="CaFile"/>), which the clients verify against; and a third, <c>auto</c>, whose
/// tls/ folder holds a CA as an earlier version made it (<see cref="ClientMode.EarlierCa"/>).
/// </summary>
public sealed class ClientSuiteFixture : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>The password every client types: any is accepted (no password_hash); it must never reach the log.</summary>
    public const string Password = "Real-Cl1ent-Pa55";

    /// <summary>The first proxy's local TLS: every listener <c>auto</c>.</summary>
    private const string AutoTls = "local_tls = auto";

    private readonly DovecotFixture _dovecot = new();
    private readonly List<ProxyProcess> _others = [];
    private TestEnvironment? _env;
    private ProxyProcess? _auto;
    private ProxyProcess? _startTls;
    private ProxyProcess? _earlierCa;
    private int _nextHome;

    internal DovecotFixture Dovecot => _dovecot;

    internal TestEnvironment Env => _env ?? throw new InvalidOperationException("Not started.");

    /// <summary>The proxy's generated CA (tls/ca.pem beside the config), which every verifying client is given.</summary>
    internal string CaFile => Env.LocalCaFile;

    /// <summary>The listeners of the <c>starttls</c> proxy.</summary>
    internal ListenerPorts StartTlsPorts { get; } = NewPorts();

    /// <summary>The listeners of the proxy under a CA an earlier version made (<see cref="ClientMode.EarlierCa"/>).</summary>
    internal ListenerPorts EarlierCaPorts { get; } = NewPorts();

    internal ListenerPorts AutoPorts => new(Env.ImapPort, Env.SmtpPort, Env.PopPort, Env.HttpPort);

    private string EarlierCaFolder => Path.Combine(Env.Directory, "tls-earlier");

    private IEnumerable<ProxyProcess> Proxies => [Proxy(ClientMode.Plain), Proxy(ClientMode.StartTls), Proxy(ClientMode.EarlierCa)];

    public async Task InitializeAsync()
    {
        await _dovecot.InitializeAsync();
        _env = await TestEnvironment.CreateAsync();
        _auto = await _dovecot.StartSignedInProxyAsync(_env, startTls: false, localTls: AutoTls);
        _startTls = await StartAnotherProxyAsync("starttls", StartTlsPorts, "local_tls = starttls");
        WriteEarlierCa(EarlierCaFolder);
        _earlierCa = await StartAnotherProxyAsync("earlier-ca", EarlierCaPorts, $"{AutoTls}\ntls_dir = {EarlierCaFolder}");
    }

    public async Task DisposeAsync()
    {
        foreach (var proxy in _others)
        {
            await proxy.DisposeAsync();
        }
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }
        await _dovecot.DisposeAsync();
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    /// <summary>The proxy a client of <paramref name="mode"/> talks to.</summary>
    internal ProxyProcess Proxy(ClientMode mode) => mode switch
    {
        ClientMode.StartTls => _startTls,
        ClientMode.EarlierCa => _earlierCa,
        _ => _auto,
    } ?? throw new InvalidOperationException("Not started.");

    internal ListenerPorts Ports(ClientMode mode) => mode switch
    {
        ClientMode.StartTls => StartTlsPorts,
        ClientMode.EarlierCa => EarlierCaPorts,
        _ => AutoPorts,
    };

    /// <summary>The CA a verifying client of <paramref name="mode"/> is given.</summary>
    internal string CaFor(ClientMode mode) => mode == ClientMode.EarlierCa ? Path.Combine(EarlierCaFolder, "ca.pem") : CaFile;

    /// <summary>A fresh, empty folder for one client run: its HOME, its configuration and what it stores.</summary>
    internal string NewHome(string client)
    {
        var home = Path.Combine(Env.Directory, "clients", $"{client}-{Interlocked.Increment(ref _nextHome)}");
        Directory.CreateDirectory(home);
        return home;
    }

    /// <summary>The number of lines each proxy logged so far: a mark for <see cref="AssertLogCleanSince"/>.</summary>
    internal int[] LogMark() => [.. Proxies.Select(p => p.Output.Count)];

    /// <summary>
    /// No proxy logged, since <paramref name="mark"/>, a warning or an error (other than those
    /// <paramref name="expected"/> allows), the password, a token, or the base64 of a login that carries the password.
    /// </summary>
    internal void AssertLogCleanSince(int[] mark, Func<string, bool>? expected = null)
    {
        ArgumentNullException.ThrowIfNull(mark);
        var lines = Proxies.SelectMany((proxy, i) => proxy.Output.Skip(mark[i])).ToList();
        var secrets = new[]
        {
            Password,
            Convert.ToBase64String(Encoding.UTF8.GetBytes(Password)),
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{TestEnvironment.Account}\0{Password}")),
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestEnvironment.Account}\0{TestEnvironment.Account}\0{Password}")),
            "fake-at-", "fake-rt-", "dXNlcj1", "eyJ",
        };
        foreach (var line in lines)
        {
            foreach (var secret in secrets)
            {
                Assert.False(line.Contains(secret, StringComparison.Ordinal), $"a secret reached the proxy's log: {line}");
            }
            // A text log line is "<UTC time> <level>: <category>[<event id>] <message>".
            var bad = line.Contains(" warn: ", StringComparison.Ordinal) || line.Contains(" fail: ", StringComparison.Ordinal)
                || line.Contains(" crit: ", StringComparison.Ordinal);
            Assert.False(bad && !(expected?.Invoke(line) ?? false), $"the proxy logged a warning or error: {line}\n{string.Join('\n', lines)}");
        }
    }

    /// <summary>The sha256 of each message file of a Dovecot folder (INBOX when null), in order; <paramref name="lineFeeds"/>: of its Unix form.</summary>
    internal string[] DovecotDigests(string? folder, bool lineFeeds) =>
        [.. _dovecot.MessageFiles(folder).Select(f => MailFiles.Digest(File.ReadAllBytes(f), lineFeeds)).Order(StringComparer.Ordinal)];

    /// <summary>Delivers <paramref name="count"/> messages (the first large, with 8-bit text and dot lines) to a Dovecot folder (INBOX when null).</summary>
    internal void Deliver(string? folder, int count, string subject)
    {
        for (var i = 0; i < count; i++)
        {
            _dovecot.Deliver(folder, DovecotMessages.Large(i == 0 ? 96 * 1024 : 3 * 1024, $"{subject} {i}", seed: 11 + i));
        }
    }

    /// <summary>Empties Dovecot's INBOX (what an earlier failed POP3 run left), as a local delivery agent's user would.</summary>
    internal void EmptyInbox()
    {
        foreach (var file in _dovecot.MessageFiles(null))
        {
            File.Delete(file);
        }
    }

    private static ListenerPorts NewPorts() => new(TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort());

    /// <summary>
    /// Another proxy on the same account, with its own listeners, its own copy of the signed-in account's token files
    /// (two proxies on one token folder would overwrite each other's tokens, and the second says so; none refreshes
    /// during the suite: the test identity server's access tokens live an hour), the same master key, and
    /// <paramref name="localTls"/> in place of the first proxy's <c>local_tls = auto</c>.
    /// </summary>
    private async Task<ProxyProcess> StartAnotherProxyAsync(string name, ListenerPorts ports, string localTls)
    {
        var env = Env;
        var tokens = Path.Combine(env.Directory, "tokens-" + name);
        Directory.CreateDirectory(tokens);
        foreach (var file in Directory.GetFiles(env.TokenDirectory, "*.json"))
        {
            File.Copy(file, Path.Combine(tokens, Path.GetFileName(file)));
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var config = File.ReadAllText(env.ConfigPath)
            .Replace($"imap_listen = 127.0.0.1:{env.ImapPort}", $"imap_listen = 127.0.0.1:{ports.Imap}", StringComparison.Ordinal)
            .Replace($"smtp_listen = 127.0.0.1:{env.SmtpPort}", $"smtp_listen = 127.0.0.1:{ports.Smtp}", StringComparison.Ordinal)
            .Replace($"pop_listen = 127.0.0.1:{env.PopPort}", $"pop_listen = 127.0.0.1:{ports.Pop}", StringComparison.Ordinal)
            .Replace(AutoTls, localTls, StringComparison.Ordinal)
            .Replace($"redirect_uri = {env.RedirectUri}", $"redirect_uri = http://127.0.0.1:{ports.Http}", StringComparison.Ordinal)
            .Replace($"token_dir = {env.TokenDirectory}", $"token_dir = {tokens}", StringComparison.Ordinal);
        var path = Path.Combine(env.Directory, name + ".ini");
        File.WriteAllText(path, config);
        var proxy = new ProxyProcess(path, workingDirectory: env.Directory);
        _others.Add(proxy);
        await proxy.StartAsync();
        return proxy;
    }

    /// <summary>
    /// A CA as the versions before DNS twins made it, written with openssl(1) as an operator's existing tls/ folder:
    /// name constraints permitting DNS localhost and the loopback addresses only (so no DNS name 127.0.0.1).
    /// </summary>
    private static void WriteEarlierCa(string folder)
    {
        Directory.CreateDirectory(folder);
        var start = new ProcessStartInfo("openssl")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650",
            "-keyout", Path.Combine(folder, "ca.key"), "-out", Path.Combine(folder, "ca.pem"),
            "-subj", "/O=Email OAuth2 Proxy/CN=Email OAuth2 Proxy local CA (earlier)",
            "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "nameConstraints=critical,permitted;DNS:localhost,permitted;IP:127.0.0.0/255.0.0.0,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        })
        {
            start.ArgumentList.Add(argument);
        }
        using var openssl = Process.Start(start) ?? throw new InvalidOperationException("Could not run openssl.");
        var error = openssl.StandardError.ReadToEnd();
        openssl.WaitForExit();
        if (openssl.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl req failed: {error}");
        }
    }
}
