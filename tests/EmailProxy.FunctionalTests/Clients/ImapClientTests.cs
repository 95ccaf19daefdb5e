using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// Real IMAP clients from Debian's packages through the proxy to the real Dovecot: each reads a folder of its own and
/// must have every message as Dovecot keeps it (sha256 of each, in the client's own storage form), in every mode it
/// supports, verifying the proxy's generated CA by 127.0.0.1 and by localhost. docs/clients.md lists the results.
/// </summary>
[Collection(RealClients.Name)]
public sealed class ImapClientTests(ClientSuiteFixture suite)
{
    private const string User = TestEnvironment.Account;
    private const string Password = ClientSuiteFixture.Password;

    /// <summary>Plaintext, implicit TLS and STARTTLS; the TLS modes by address and by name.</summary>
    public static TheoryData<ClientMode, string> EveryMode => new()
    {
        { ClientMode.Plain, "127.0.0.1" },
        { ClientMode.Implicit, "127.0.0.1" },
        { ClientMode.Implicit, "localhost" },
        { ClientMode.StartTls, "127.0.0.1" },
        { ClientMode.StartTls, "localhost" },
    };

    /// <summary>
    /// <see cref="EveryMode"/>, and implicit TLS by 127.0.0.1 under a CA an earlier version made: mbsync and offlineimap
    /// accept 127.0.0.1 as the certificate's common name.
    /// </summary>
    public static TheoryData<ClientMode, string> EveryModeAndAnEarlierCaBy127001
    {
        get
        {
            var data = EveryMode;
            data.Add(ClientMode.EarlierCa, "127.0.0.1");
            return data;
        }
    }

    /// <summary>
    /// <see cref="EveryMode"/>, and implicit TLS by localhost under a CA an earlier version made: the clients that match
    /// names with OpenSSL's X509_check_host (fetchmail, c-client) ignore the common name, so 127.0.0.1 needs a new CA.
    /// </summary>
    public static TheoryData<ClientMode, string> EveryModeAndAnEarlierCaByLocalhost
    {
        get
        {
            var data = EveryMode;
            data.Add(ClientMode.EarlierCa, "localhost");
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EveryModeAndAnEarlierCaBy127001))]
    public async Task Mbsync_PullsAFolder_EveryMessageAsDovecotKeepsIt(ClientMode mode, string host)
    {
        var folder = NewFolder();
        var home = suite.NewHome("mbsync");
        var rc = Path.Combine(home, "mbsyncrc");
        Directory.CreateDirectory(Path.Combine(home, "mail"));
        File.WriteAllText(rc, $"""
            IMAPAccount proxy
            Host {host}
            Port {suite.Ports(mode).Imap}
            User {User}
            Pass {Password}
            SSLType {mode switch { ClientMode.Plain => "None", ClientMode.StartTls => "STARTTLS", _ => "IMAPS" }}
            CertificateFile {suite.CaFor(mode)}
            AuthMechs LOGIN

            IMAPStore remote
            Account proxy

            MaildirStore local
            Path {home}/mail/
            Inbox {home}/mail/INBOX
            SubFolders Verbatim

            Channel pull
            Far :remote:
            Near :local:
            Patterns {folder}
            Create Near
            Sync Pull
            SyncState *

            """);
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "mbsync", ["-c", rc, "-a"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        // mbsync stores Unix line ends and adds its X-TUID header (its own bookkeeping).
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: true), MailFiles.Digests(Path.Combine(home, "mail", folder), m => MailFiles.WithoutHeaderFields(m, "X-TUID")));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// offlineimap3 in plaintext and implicit TLS (and under an earlier CA). Not its STARTTLS: after STARTTLS its imaplib2
    /// drives one TLS connection from its reader and writer threads at once, and in about one run in ten the client hung
    /// (its CAPABILITY under TLS never reached the proxy, whose socket held nothing unread) or crashed with a segmentation
    /// fault; docs/clients.md says to use ssl = yes. What its STARTTLS does when it works is shown below.
    /// </summary>
    public static TheoryData<ClientMode, string> OfflineImapModes
    {
        get
        {
            var data = new TheoryData<ClientMode, string>();
            foreach (var row in EveryModeAndAnEarlierCaBy127001.Where(row => (ClientMode)row[0] != ClientMode.StartTls))
            {
                data.Add((ClientMode)row[0], (string)row[1]);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(OfflineImapModes))]
    public async Task OfflineImap_SyncsAFolderReadOnly_EveryMessageAsDovecotKeepsIt(ClientMode mode, string host)
    {
        var folder = NewFolder();
        var home = suite.NewHome("offlineimap");
        var mark = suite.LogMark();

        var run = await OfflineImapAsync(home, mode, host, folder, suite.CaFor(mode));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: true), MailFiles.Digests(Path.Combine(home, "mail", folder)));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// offlineimap3's STARTTLS verifies nothing (it calls imaplib2's starttls() without its CA file): given a CA that
    /// did not sign the proxy's certificate it still syncs. Documented: use ssl = yes with offlineimap3.
    /// </summary>
    [Fact]
    public async Task OfflineImap_StartTlsGivenAnUnrelatedCa_StillSyncsAsItVerifiesNothing()
    {
        var folder = NewFolder();
        var home = suite.NewHome("offlineimap-unverified");

        // Up to three runs: the client itself hangs or crashes in about one STARTTLS run in ten (see OfflineImapModes).
        var run = await OfflineImapAsync(home, ClientMode.StartTls, "127.0.0.1", folder, suite.Env.CaFile);
        for (var attempt = 1; attempt < 3 && run.ExitCode != 0; attempt++)
        {
            run = await OfflineImapAsync(home, ClientMode.StartTls, "127.0.0.1", folder, suite.Env.CaFile);
        }

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: true), MailFiles.Digests(Path.Combine(home, "mail", folder)));
    }

    [Theory]
    [MemberData(nameof(EveryMode))]
    public async Task NeoMutt_CopiesEveryMessageOfAFolder_EachAsDovecotKeepsIt(ClientMode mode, string host)
    {
        var folder = NewFolder();
        var home = suite.NewHome("neomutt");
        var rc = Path.Combine(home, "neomuttrc");
        File.WriteAllText(rc, $"""
            set folder = "{home}"
            set ssl_ca_certificates_file = "{suite.CaFile}"
            set certificate_file = "{home}/certificates"
            set ssl_starttls = {(mode == ClientMode.StartTls ? "yes" : "no")}
            set ssl_force_tls = {(mode == ClientMode.Plain ? "no" : "yes")}
            set imap_user = "{User}"
            set imap_pass = "{Password}"
            set imap_authenticators = "login"
            set mbox_type = Maildir
            set confirmcreate = no
            set confirmappend = no
            set delete = no
            set move = no
            set quit = yes
            set wait_key = no
            set auto_tag = yes
            set header_cache = ""
            set message_cachedir = ""

            """);
        var url = $"{(mode == ClientMode.Implicit ? "imaps" : "imap")}://{host}:{suite.Ports(mode).Imap}/{folder}";
        var saved = Path.Combine(home, "saved");
        var mark = suite.LogMark();

        // NeoMutt reads a mailbox only with its screen: it runs on a terminal of script(1), driven by pushed keys.
        var command = $"neomutt -n -F {rc} -R -f {url} -e 'push \"<tag-pattern>~A<enter><copy-message>{saved}<enter><quit>\"'";
        var run = await ClientRun.RunAsync(home, "script", ["-qec", command, "/dev/null"], environment: new Dictionary<string, string> { ["TERM"] = "xterm" });

        Assert.True(run.ExitCode == 0, run.ToString());
        // NeoMutt stores Unix line ends and adds Content-Length and Lines when it copies.
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: true), MailFiles.Digests(saved, m => MailFiles.WithoutHeaderFields(m, "Content-Length", "Lines")));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// PHP's imap_open: <c>/notls</c> plaintext; no flags, which stays plaintext because the auto listener offers no
    /// STARTTLS (c-client would take it, in TLS 1.0); <c>/ssl</c> implicit TLS verifying the proxy's CA (no
    /// <c>/novalidate-cert</c>).
    /// </summary>
    [Theory]
    [InlineData(ClientMode.Plain, "127.0.0.1", "/imap/notls")]
    [InlineData(ClientMode.Plain, "127.0.0.1", "/imap")]
    [InlineData(ClientMode.Implicit, "127.0.0.1", "/imap/ssl")]
    [InlineData(ClientMode.Implicit, "localhost", "/imap/ssl")]
    [InlineData(ClientMode.EarlierCa, "localhost", "/imap/ssl")]
    public async Task PhpImapOpen_ReadsAFolder_EveryMessageByteExact(ClientMode mode, string host, string flags)
    {
        var folder = NewFolder();
        var home = suite.NewHome("php-imap");
        var mark = suite.LogMark();

        var run = await PhpImapAsync(home, $"{{{host}:{suite.Ports(mode).Imap}{flags}}}{folder}", suite.CaFor(mode));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: false), Digests(run.StandardOutput));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// Under a CA an earlier version made, the certificate names 127.0.0.1 by its common name only, which c-client's
    /// X509_check_host ignores: documented as "connect by localhost, or move tls/ aside for a new CA".
    /// </summary>
    [Fact]
    public async Task PhpImapOpen_SslBy127001UnderAnEarlierCa_HostnameMismatchAsDocumented()
    {
        var folder = NewFolder();
        var home = suite.NewHome("php-imap-earlier-ca");
        var mark = suite.LogMark();

        var run = await PhpImapAsync(home, $"{{127.0.0.1:{suite.EarlierCaPorts.Imap}/imap/ssl}}{folder}", suite.CaFor(ClientMode.EarlierCa));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("hostname mismatch", run.StandardError, StringComparison.Ordinal);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// c-client's STARTTLS (<c>/tls</c>) offers TLS 1.0 only, which OpenSSL 3 and the proxy refuse: documented as
    /// "does not work, use /ssl" (the client is at fault; the proxy keeps serving).
    /// </summary>
    [Fact]
    public async Task PhpImapOpen_TlsFlagOnTheStartTlsListener_FailsInTheHandshakeAsDocumented()
    {
        var folder = NewFolder();
        var home = suite.NewHome("php-imap-tls");

        var mark = suite.LogMark();

        var run = await PhpImapAsync(home, $"{{127.0.0.1:{suite.StartTlsPorts.Imap}/imap/tls}}{folder}", suite.CaFile);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("SSL negotiation failed", run.StandardError, StringComparison.Ordinal);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>EspoCRM's IMAP libraries (imapengine, laminas-mail) as they talk: PHP streams, <c>ssl://</c> or <c>tcp://</c> with STARTTLS, verify_peer on.</summary>
    [Theory]
    [MemberData(nameof(EveryMode))]
    public async Task EspoCrmPhpStreams_LoginSelectUidFetch_EveryMessageByteExact(ClientMode mode, string host)
    {
        var folder = NewFolder();
        var home = suite.NewHome("espocrm-streams");
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "espocrm_imap_streams.php");
        var how = mode switch { ClientMode.Plain => "plain", ClientMode.Implicit => "ssl", _ => "starttls" };
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "php", [script, how, host, $"{suite.Ports(mode).Imap}", User, Password, suite.CaFile, folder]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(suite.DovecotDigests(folder, lineFeeds: false), Digests(run.StandardOutput));
        suite.AssertLogCleanSince(mark);
    }

    private Task<ClientRunResult> OfflineImapAsync(string home, ClientMode mode, string host, string folder, string caFile)
    {
        var rc = Path.Combine(home, "offlineimaprc");
        File.WriteAllText(rc, $"""
            [general]
            accounts = proxy
            metadata = {home}/metadata

            [Account proxy]
            localrepository = local
            remoterepository = remote

            [Repository local]
            type = Maildir
            localfolders = {home}/mail

            [Repository remote]
            type = IMAP
            remotehost = {host}
            remoteport = {suite.Ports(mode).Imap}
            remoteuser = {User}
            remotepass = {Password}
            ssl = {(mode is ClientMode.Implicit or ClientMode.EarlierCa ? "yes" : "no")}
            starttls = {(mode == ClientMode.StartTls ? "yes" : "no")}
            sslcacertfile = {caFile}
            auth_mechanisms = LOGIN
            folderfilter = lambda folder: folder == '{folder}'
            readonly = True

            """);
        return ClientRun.RunAsync(home, "offlineimap", ["-c", rc, "-o", "-u", "basic"]);
    }

    private static Task<ClientRunResult> PhpImapAsync(string home, string mailbox, string caFile) =>
        ClientRun.RunAsync(
            home,
            "php",
            [Path.Combine(AppContext.BaseDirectory, "Clients", "php_imap_open.php"), mailbox, User, Password],
            environment: new Dictionary<string, string> { ["SSL_CERT_FILE"] = caFile });

    /// <summary>A Dovecot folder of its own with two messages.</summary>
    private string NewFolder()
    {
        var folder = "Clients-" + Guid.NewGuid().ToString("N")[..8];
        suite.Deliver(folder, 2, folder);
        return folder;
    }

    /// <summary>The sha256 lines a PHP script printed, in order; it ends with "messages: N", which must count them.</summary>
    private static string[] Digests(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var digests = lines.Where(l => l.Length == 64 && !l.Contains(' ', StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains($"messages: {digests.Length}", lines);
        return digests;
    }
}
