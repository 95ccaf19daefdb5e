using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// The real Dovecot of Debian's packages (dovecot-imapd, dovecot-pop3d, dovecot-submissiond), one per test class,
/// run in the foreground (<c>dovecot -F -c FILE</c>) from a configuration generated in a temporary folder: its own
/// base_dir and state, listeners on free 127.0.0.1 ports, TLS with the test CA's server certificate, a maildir in the
/// folder, <c>auth_mechanisms = xoauth2 oauthbearer</c> only, and the oauth2 passdb checking every token with the
/// test identity server's introspection endpoint (through <see cref="IntrospectionRelay"/>). Submission relays to an
/// in-test <see cref="SmtpSink"/>. Everything is stopped and deleted on dispose.
/// This part does not depend on xunit or the proxy's test environment: the bench links it (with
/// <see cref="ExtraConfig"/> for 1,000 sessions); DovecotFixture.Tests.cs adds what the tests need.
/// </summary>
public sealed partial class DovecotFixture
{
    /// <summary>The Debian packages the fixture needs; .ci/run installs them.</summary>
    public const string Packages = "dovecot-imapd dovecot-pop3d dovecot-submissiond";

    private const int NobodyId = 65534;
    private const int StartAttempts = 3;
    private const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private static readonly string[] MessageSubfolders = ["new", "cur"];
    private static readonly string[] SbinFolders = ["/usr/sbin", "/usr/local/sbin"];
    private static int _nextMessage;

    private ObservableLog _log = new("dovecot");
    private Process? _process;
    private string _dovecot = "";
    private bool _disposed;

    public DovecotFixture()
        : this(null)
    {
    }

    /// <param name="usernameFormat">The oauth2 passdb's <c>username_format</c>, applied to both the XOAUTH2 user and the token's
    /// user before they are compared (Dovecot's default, the whole lower-cased name, when null); <c>%d</c> compares the domains
    /// only (<see cref="DelegatingDovecotFixture"/>).</param>
    internal DovecotFixture(string? usernameFormat)
    {
        Directory = Path.Combine(Path.GetTempPath(), "emailproxy-dovecot-" + Guid.NewGuid().ToString("N")[..12]);
        _usernameFormat = usernameFormat;
    }

    private readonly string? _usernameFormat;

    /// <summary>The temporary folder holding configuration, certificate, runtime state and mail.</summary>
    internal string Directory { get; }

    /// <summary>IMAP, plaintext with STARTTLS.</summary>
    internal int ImapPort { get; private set; }

    /// <summary>IMAP over implicit TLS.</summary>
    internal int ImapsPort { get; private set; }

    /// <summary>POP3, plaintext with STLS.</summary>
    internal int PopPort { get; private set; }

    /// <summary>POP3 over implicit TLS.</summary>
    internal int PopsPort { get; private set; }

    /// <summary>SMTP submission, plaintext with STARTTLS.</summary>
    internal int SubmissionPort { get; private set; }

    /// <summary>SMTP submission over implicit TLS (the bench's direct and socat paths).</summary>
    internal int SubmissionsPort { get; private set; }

    /// <summary>Where submission relays every message to.</summary>
    internal SmtpSink Sink { get; } = new();

    /// <summary>Dovecot's introspection_url: relays to the identity server of the running test.</summary>
    internal IntrospectionRelay Introspection { get; } = new();

    /// <summary>Everything Dovecot logged (log_path = /dev/stderr).</summary>
    internal ObservableLog Log => _log;

    /// <summary>The mailbox's home; mail_location = maildir:~/Maildir.</summary>
    internal string Home => Path.Combine(Directory, "home");

    internal string Maildir => Path.Combine(Home, "Maildir");

    internal string ConfigPath => Path.Combine(Directory, "dovecot.conf");

    /// <summary>Lines appended to the generated dovecot.conf (the bench raises the per-user and per-process limits).</summary>
    internal string ExtraConfig { get; init; } = "";

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                // "dovecot stop" sends SIGTERM to the master named in base_dir/master.pid; it stops its children.
                using var stop = Process.Start(new ProcessStartInfo(_dovecot, ["-c", ConfigPath, "stop"]) { UseShellExecute = false });
                if (stop is not null)
                {
                    await stop.WaitForExitAsync();
                }
                using var exited = new CancellationTokenSource(ObservableLog.DefaultTimeout);
                try
                {
                    await process.WaitForExitAsync(exited.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            process.Dispose();
        }

        await Sink.DisposeAsync();
        await Introspection.DisposeAsync();
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

    private async Task StartAsync()
    {
        _dovecot = FindDovecot();
        System.IO.Directory.CreateDirectory(Directory);
        if (!OperatingSystem.IsWindows())
        {
            // Whatever the umask: Dovecot's unprivileged processes must reach the mail, certificates stay the master's.
            File.SetUnixFileMode(Directory, ReadableByAll | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "state"));
        CreateSharedDirectory(Home);

        await Introspection.StartAsync();
        Sink.Start();
        WriteCertificate();
        await File.WriteAllTextAsync(Path.Combine(Directory, "dovecot-oauth2.conf.ext"), BuildOAuth2Config());
        for (var attempt = 1; ; attempt++)
        {
            ImapPort = FreePort();
            ImapsPort = FreePort();
            PopPort = FreePort();
            PopsPort = FreePort();
            SubmissionPort = FreePort();
            SubmissionsPort = FreePort();
            await File.WriteAllTextAsync(ConfigPath, BuildConfig());
            var log = new ObservableLog("dovecot");
            _log = log;
            var process = Launch(log);
            _process = process;
            try
            {
                // The master logs this after it bound every listener (services_listen comes first in master/main.c).
                await log.WaitForAsync(line => line.Contains("starting up for imap, pop3, submission", StringComparison.Ordinal));
                break;
            }
            catch (InvalidOperationException exited)
            {
                // Dovecot exited. If another process took one of the ports between choosing and binding it, choose again.
                await process.WaitForExitAsync();
                process.Dispose();
                _process = null;
                if (attempt == StartAttempts || !log.Lines.Any(line => line.Contains("Address already in use", StringComparison.Ordinal)))
                {
                    throw new InvalidOperationException($"Dovecot did not start with {ConfigPath}:\n{log.Describe()}", exited);
                }
            }
        }

        // Each login process greets only once it is connected to the auth process: then logins work.
        await WaitForGreetingAsync(ImapPort, line => line.StartsWith("* OK [CAPABILITY", StringComparison.Ordinal));
        await WaitForGreetingAsync(PopPort, line => line.StartsWith("+OK", StringComparison.Ordinal));
        await WaitForGreetingAsync(SubmissionPort, line => line.StartsWith("220 ", StringComparison.Ordinal));
    }

    private Process Launch(ObservableLog log)
    {
        var start = new ProcessStartInfo(_dovecot)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-F");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(ConfigPath);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(log, e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(log, e.Data);
        process.Exited += (_, _) => log.Complete("Dovecot exited");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Delivers a message as a local delivery agent does: written to tmp/, then renamed into new/ of the folder
    /// (INBOX when null); Dovecot finds it there. Returns the file's name.
    /// </summary>
    internal string Deliver(string? folder, byte[] message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var root = FolderPath(folder);
        foreach (var sub in new[] { root, Path.Combine(root, "cur"), Path.Combine(root, "new"), Path.Combine(root, "tmp") })
        {
            CreateSharedDirectory(sub);
        }

        var name = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.M{Interlocked.Increment(ref _nextMessage)}P{Environment.ProcessId}.emailproxy-test");
        var temporary = Path.Combine(root, "tmp", name);
        File.WriteAllBytes(temporary, message);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, ReadableByAll | UnixFileMode.UserWrite);
        }
        File.Move(temporary, Path.Combine(root, "new", name));
        return name;
    }

    /// <summary>The message files of a folder (INBOX when null), in new/ and cur/.</summary>
    internal string[] MessageFiles(string? folder)
    {
        var root = FolderPath(folder);
        return [.. MessageSubfolders
            .Select(sub => Path.Combine(root, sub))
            .Where(System.IO.Directory.Exists)
            .SelectMany(System.IO.Directory.GetFiles)];
    }

    /// <summary>The number of lines Dovecot logged so far: a mark for <see cref="WaitForLogAsync"/>.</summary>
    internal int LogMark() => _log.Lines.Count;

    /// <summary>Waits for a line Dovecot logs after <paramref name="mark"/> (lines come in order).</summary>
    internal Task<string> WaitForLogAsync(int mark, Func<string, bool> predicate)
    {
        var index = 0;
        return _log.WaitForAsync(line => index++ >= mark && predicate(line));
    }

    /// <summary>A free port on 127.0.0.1 for a listener (the tests' and the bench's own schemes).</summary>
    private static partial int FreePort();

    private string FolderPath(string? folder) => folder is null ? Maildir : Path.Combine(Maildir, "." + folder);

    private static void OnLine(ObservableLog log, string? line)
    {
        if (line is not null)
        {
            log.Add(line);
        }
    }

    private async Task WaitForGreetingAsync(int port, Func<string, bool> isGreeting)
    {
        await using var client = await LineClient.ConnectAsync(port);
        var seen = new List<string>();
        try
        {
            await client.ReadUntilAsync(isGreeting, seen);
        }
        catch (Exception failure) when (failure is IOException or OperationCanceledException)
        {
            throw new InvalidOperationException($"Dovecot on port {port} did not greet: {string.Join(" | ", seen)}\n{_log.Describe()}", failure);
        }
    }

    private void WriteCertificate()
    {
        var certificate = TestCertificates.Trusted.ServerCertificate;
        File.WriteAllText(Path.Combine(Directory, "server.pem"), certificate.ExportCertificatePem() + "\n");
        using var key = certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("The test server certificate has no RSA key.");
        var keyPath = Path.Combine(Directory, "server.key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private string BuildOAuth2Config() =>
        $"""
        # Generated by the Dovecot functional tests: Dovecot 2.3's oauth2 passdb, RFC 7662 introspection.
        introspection_url = {Introspection.Url}
        introspection_mode = post
        force_introspection = yes
        username_attribute = email
        active_attribute = active
        active_value = true
        timeout_msecs = 30000
        {(_usernameFormat is null ? "" : "username_format = " + _usernameFormat)}

        """;

    private string BuildConfig()
    {
        var users = Users();
        return $$"""
            # Generated by the Dovecot functional tests; never /etc/dovecot.
            base_dir = {{Directory}}/run
            state_dir = {{Directory}}/state
            instance_name = emailproxy-test-{{Path.GetFileName(Directory)}}
            protocols = imap pop3 submission
            listen = 127.0.0.1
            log_path = /dev/stderr
            auth_verbose = yes
            default_internal_user = {{users.InternalUser}}
            default_internal_group = {{users.InternalGroup}}
            default_login_user = {{users.LoginUser}}
            first_valid_uid = {{users.MailUid}}

            auth_mechanisms = xoauth2 oauthbearer
            # Failed logins answered at once, and no growing per-IP delay (the auth penalty) between tests.
            auth_failure_delay = 0
            disable_plaintext_auth = yes

            ssl = yes
            ssl_cert = <{{Directory}}/server.pem
            ssl_key = <{{Directory}}/server.key

            # Messages are saved as they came (CRLF kept), so a maildir file can be compared byte for byte.
            mail_location = maildir:~/Maildir
            mail_save_crlf = yes

            hostname = dovecot.test
            submission_relay_host = 127.0.0.1
            submission_relay_port = {{Sink.Port}}

            passdb {
              driver = oauth2
              mechanisms = xoauth2 oauthbearer
              args = {{Directory}}/dovecot-oauth2.conf.ext
            }
            userdb {
              driver = static
              args = uid={{users.MailUid}} gid={{users.MailGid}} home={{Home}}
            }

            service imap-login {
              inet_listener imap {
                port = {{ImapPort}}
              }
              inet_listener imaps {
                port = {{ImapsPort}}
                ssl = yes
              }{{users.Chroot}}
            }
            service pop3-login {
              inet_listener pop3 {
                port = {{PopPort}}
              }
              inet_listener pop3s {
                port = {{PopsPort}}
                ssl = yes
              }{{users.Chroot}}
            }
            service submission-login {
              inet_listener submission {
                port = {{SubmissionPort}}
              }
              inet_listener submissions {
                port = {{SubmissionsPort}}
                ssl = yes
              }{{users.Chroot}}
            }
            service anvil {{{users.Chroot}}
              unix_listener anvil-auth-penalty {
                mode = 0
              }
            }
            {{ExtraConfig}}
            """;
    }

    /// <summary>
    /// As root (CI): the packages' unprivileged users for Dovecot's own processes, and mail stored as nobody.
    /// Otherwise everything runs as the current user and group, and no process can chroot.
    /// </summary>
    private static DovecotUsers Users()
    {
        if (Environment.IsPrivilegedProcess)
        {
            return new DovecotUsers("dovecot", "dovecot", "dovenull", NobodyId, NobodyId, "");
        }

        var status = File.ReadAllLines("/proc/self/status");
        int Id(string key) => int.Parse(status.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        var gid = Id("Gid:");
        var group = File.ReadLines("/etc/group")
            .Select(line => line.Split(':'))
            .FirstOrDefault(fields => fields.Length > 2 && fields[2] == gid.ToString(CultureInfo.InvariantCulture))?[0]
            ?? throw new InvalidOperationException($"Group {gid} has no name in /etc/group; Dovecot needs one for default_internal_group.");
        return new DovecotUsers(Environment.UserName, group, Environment.UserName, Id("Uid:"), gid, "\n  chroot =");
    }

    /// <summary>A folder Dovecot's mail processes (another user when the tests run as root) can write in.</summary>
    private static void CreateSharedDirectory(string path)
    {
        System.IO.Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        }
    }

    private static string FindDovecot()
    {
        var path = SbinFolders
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Select(folder => Path.Combine(folder, "dovecot"))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException($"Dovecot is not installed: apt-get install {Packages} (.ci/run does this).");
    }
}
