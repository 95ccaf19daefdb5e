using System.Text;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// What every real-client test shares, made once for the collection: the real Dovecot of the functional tests, and two
/// proxies signed in to it (IMAP and POP3 upstream over implicit TLS, submission over STARTTLS): one whose listeners are
/// all <c>auto</c> (plaintext and implicit TLS on one port) and one whose listeners are all <c>starttls</c>. Both read
/// the same token folder and the same generated CA (<see cref="CaFile"/>), which the clients verify against.
/// </summary>
public sealed class ClientSuiteFixture : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>The password every client types: any is accepted (no password_hash); it must never reach the log.</summary>
    public const string Password = "Real-Cl1ent-Pa55";

    private readonly DovecotFixture _dovecot = new();
    private TestEnvironment? _env;
    private ProxyProcess? _auto;
    private ProxyProcess? _startTls;
    private int _nextHome;

    internal DovecotFixture Dovecot => _dovecot;

    internal TestEnvironment Env => _env ?? throw new InvalidOperationException("Not started.");

    /// <summary>The proxy's generated CA (tls/ca.pem beside the config), which every verifying client is given.</summary>
    internal string CaFile => Env.LocalCaFile;

    /// <summary>The listeners of the <c>starttls</c> proxy.</summary>
    internal ListenerPorts StartTlsPorts { get; } = new(TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort());

    internal ListenerPorts AutoPorts => new(Env.ImapPort, Env.SmtpPort, Env.PopPort, Env.HttpPort);

    public async Task InitializeAsync()
    {
        await _dovecot.InitializeAsync();
        _env = await TestEnvironment.CreateAsync();
        _auto = await _dovecot.StartSignedInProxyAsync(_env, startTls: false);

        var ports = StartTlsPorts;
        var config = File.ReadAllText(_env.ConfigPath)
            .Replace($"imap_listen = 127.0.0.1:{_env.ImapPort}", $"imap_listen = 127.0.0.1:{ports.Imap}", StringComparison.Ordinal)
            .Replace($"smtp_listen = 127.0.0.1:{_env.SmtpPort}", $"smtp_listen = 127.0.0.1:{ports.Smtp}", StringComparison.Ordinal)
            .Replace($"pop_listen = 127.0.0.1:{_env.PopPort}", $"pop_listen = 127.0.0.1:{ports.Pop}\nlocal_tls = starttls", StringComparison.Ordinal)
            .Replace($"redirect_uri = {_env.RedirectUri}", $"redirect_uri = http://127.0.0.1:{ports.Http}", StringComparison.Ordinal)
            .Replace($"token_dir = {_env.TokenDirectory}", $"token_dir = {StartTlsTokens()}", StringComparison.Ordinal);
        var path = Path.Combine(_env.Directory, "starttls.ini");
        File.WriteAllText(path, config);
        _startTls = new ProxyProcess(path, workingDirectory: _env.Directory);
        await _startTls.StartAsync();
    }

    /// <summary>
    /// A copy of the signed-in account's token files for the second proxy (two proxies on one token folder would
    /// overwrite each other's tokens, and the second says so); the master key is shared. Neither refreshes during the
    /// suite: the test identity server's access tokens live an hour.
    /// </summary>
    private string StartTlsTokens()
    {
        var env = Env;
        var folder = Path.Combine(env.Directory, "tokens-starttls");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(env.TokenDirectory, "*.json"))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return folder;
    }

    public async Task DisposeAsync()
    {
        if (_startTls is not null)
        {
            await _startTls.DisposeAsync();
        }
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }
        await _dovecot.DisposeAsync();
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    /// <summary>The proxy a client of <paramref name="mode"/> talks to.</summary>
    internal ProxyProcess Proxy(ClientMode mode) => (mode == ClientMode.StartTls ? _startTls : _auto) ?? throw new InvalidOperationException("Not started.");

    internal ListenerPorts Ports(ClientMode mode) => mode == ClientMode.StartTls ? StartTlsPorts : AutoPorts;

    /// <summary>A fresh, empty folder for one client run: its HOME, its configuration and what it stores.</summary>
    internal string NewHome(string client)
    {
        var home = Path.Combine(Env.Directory, "clients", $"{client}-{Interlocked.Increment(ref _nextHome)}");
        Directory.CreateDirectory(home);
        return home;
    }

    /// <summary>The number of lines both proxies logged so far: a mark for <see cref="AssertLogCleanSince"/>.</summary>
    internal (int Auto, int StartTls) LogMark() => (Proxy(ClientMode.Plain).Output.Count, Proxy(ClientMode.StartTls).Output.Count);

    /// <summary>
    /// Neither proxy logged, since <paramref name="mark"/>, a warning or an error (other than those
    /// <paramref name="expected"/> allows), the password, a token, or the base64 of a login that carries the password.
    /// </summary>
    internal void AssertLogCleanSince((int Auto, int StartTls) mark, Func<string, bool>? expected = null)
    {
        var lines = Proxy(ClientMode.Plain).Output.Skip(mark.Auto).Concat(Proxy(ClientMode.StartTls).Output.Skip(mark.StartTls)).ToList();
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
}
