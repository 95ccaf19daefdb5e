using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// Real POP3 clients from Debian's packages through the proxy to the real Dovecot: each fetches the INBOX and deletes
/// what it fetched, as configured; every message must arrive as Dovecot kept it (sha256, in the client's Unix form) and
/// the INBOX must be empty afterwards.
/// </summary>
[Collection(RealClients.Name)]
public sealed class Pop3ClientTests(ClientSuiteFixture suite)
{
    private const string User = TestEnvironment.Account;
    private const string Password = ClientSuiteFixture.Password;

    [Theory]
    [MemberData(nameof(ImapClientTests.EveryModeAndAnEarlierCaByLocalhost), MemberType = typeof(ImapClientTests))]
    public async Task Fetchmail_FetchesAndDeletes_EveryMessageAsDovecotKeptIt(ClientMode mode, string host)
    {
        var expected = FillInbox("fetchmail");
        var home = suite.NewHome("fetchmail");
        var output = Directory.CreateDirectory(Path.Combine(home, "out")).FullName;
        var tls = mode switch
        {
            // fetchmail upgrades with STLS whenever it is offered unless told not to.
            ClientMode.Plain => "sslproto ''",
            ClientMode.StartTls => $"sslproto tls1.2+ sslcertck sslcertfile \"{suite.CaFile}\"",
            _ => $"ssl sslcertck sslcertfile \"{suite.CaFor(mode)}\"",
        };
        var rc = Path.Combine(home, "fetchmailrc");
        File.WriteAllText(rc, $"""
            set no syslog
            set invisible
            poll {host} with proto POP3 port {suite.Ports(mode).Pop}:
              user "{User}" there with password "{Password}" is "tester" here
              options {tls} no keep fetchall
              mda "/bin/sh -c 'cat > {output}/message.$$'"

            """);
        if (!OperatingSystem.IsWindows())
        {
            // The client refuses a configuration holding a password that others may read.
            File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "fetchmail", ["-f", rc, "--nodetach", "-v"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(expected, MailFiles.Digests(output));
        Assert.Empty(suite.Dovecot.MessageFiles(null));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>getmail6 has no STLS (SimplePOP3Retriever is plaintext, SimplePOP3SSLRetriever implicit TLS).</summary>
    [Theory]
    [InlineData(ClientMode.Plain, "127.0.0.1")]
    [InlineData(ClientMode.Implicit, "127.0.0.1")]
    [InlineData(ClientMode.Implicit, "localhost")]
    public async Task Getmail_RetrievesAndDeletes_EveryMessageAsDovecotKeptIt(ClientMode mode, string host)
    {
        var expected = FillInbox("getmail");
        var home = suite.NewHome("getmail");
        var output = Directory.CreateDirectory(Path.Combine(home, "out")).FullName;
        var getmailDir = Directory.CreateDirectory(Path.Combine(home, ".getmail")).FullName;
        // MDA_external rather than Maildir: getmail refuses to deliver to a Maildir as root (as CI runs).
        File.WriteAllText(Path.Combine(getmailDir, "getmailrc"), $"""
            [retriever]
            type = {(mode == ClientMode.Implicit ? "SimplePOP3SSLRetriever" : "SimplePOP3Retriever")}
            server = {host}
            port = {suite.Ports(mode).Pop}
            username = {User}
            password = {Password}
            {(mode == ClientMode.Implicit ? $"ca_certs = {suite.CaFile}" : "")}

            [destination]
            type = MDA_external
            path = /bin/sh
            arguments = ("-c", "cat > {output}/message.$$$$")
            allow_root_commands = true
            unixfrom = false

            [options]
            delete = true
            read_all = true
            delivered_to = false
            received = false

            """);
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "getmail", [$"--getmaildir={getmailDir}", "--rcfile=getmailrc"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        // getmail's MDA_external puts the envelope sender (unknown over POP3) in front as Return-Path.
        Assert.Equal(expected, MailFiles.Digests(output, m => MailFiles.WithoutHeaderFields(m, "Return-Path")));
        Assert.Empty(suite.Dovecot.MessageFiles(null));
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>An INBOX of two fresh messages; returns the sha256 of each in its Unix form, as the clients store it.</summary>
    private string[] FillInbox(string client)
    {
        suite.EmptyInbox();
        suite.Deliver(null, 2, $"POP3 {client} {Guid.NewGuid():N}");
        return suite.DovecotDigests(null, lineFeeds: true);
    }
}
