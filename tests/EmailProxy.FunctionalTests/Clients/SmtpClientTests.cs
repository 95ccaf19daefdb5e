using System.Text;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// Real SMTP clients from Debian's packages through the proxy to Dovecot's submission service, which relays to the
/// test's sink: what the client sent must arrive there byte for byte after Dovecot's own Received header.
/// </summary>
[Collection(RealClients.Name)]
public sealed class SmtpClientTests(ClientSuiteFixture suite)
{
    private const string User = TestEnvironment.Account;
    private const string Password = ClientSuiteFixture.Password;
    private const string Recipient = "customer@example.org";

    /// <summary>Plaintext, implicit TLS (smtps://) and STARTTLS; the TLS modes by address and by name.</summary>
    public static TheoryData<ClientMode, string> EveryMode => ImapClientTests.EveryMode;

    [Theory]
    [InlineData(ClientMode.Plain, "127.0.0.1", "plain")]
    [InlineData(ClientMode.Implicit, "127.0.0.1", "login")]
    [InlineData(ClientMode.Implicit, "localhost", "plain")]
    [InlineData(ClientMode.StartTls, "127.0.0.1", "login")]
    [InlineData(ClientMode.StartTls, "localhost", "plain")]
    public async Task Msmtp_SendsAMessageFile_ArrivesByteExact(ClientMode mode, string host, string auth)
    {
        var (subject, message) = NewMessage("msmtp");
        var home = suite.NewHome("msmtp");
        var rc = Path.Combine(home, "msmtprc");
        File.WriteAllText(rc, $"""
            account proxy
            host {host}
            port {suite.Ports(mode).Smtp}
            auth {auth}
            user {User}
            password {Password}
            tls {(mode == ClientMode.Plain ? "off" : "on")}
            tls_starttls {(mode == ClientMode.Implicit ? "off" : "on")}
            tls_trust_file {suite.CaFile}
            from {User}

            """);
        if (!OperatingSystem.IsWindows())
        {
            // The client refuses a configuration holding a password that others may read.
            File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "msmtp", ["-C", rc, "-a", "proxy", Recipient], message);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertRelayedByteExact(subject, message);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>swaks with AUTH LOGIN and PLAIN, with and without PIPELINING.</summary>
    [Theory]
    [InlineData(ClientMode.Plain, "127.0.0.1", "LOGIN", false)]
    [InlineData(ClientMode.Plain, "127.0.0.1", "PLAIN", true)]
    [InlineData(ClientMode.Implicit, "127.0.0.1", "PLAIN", true)]
    [InlineData(ClientMode.Implicit, "localhost", "LOGIN", false)]
    [InlineData(ClientMode.StartTls, "127.0.0.1", "LOGIN", true)]
    [InlineData(ClientMode.StartTls, "localhost", "PLAIN", false)]
    public async Task Swaks_SendsAMessageFile_ArrivesByteExact(ClientMode mode, string host, string auth, bool pipelining)
    {
        var (subject, message) = NewMessage("swaks");
        var home = suite.NewHome("swaks");
        var file = Path.Combine(home, "message.eml");
        // With --no-data-fixup swaks sends the file as DATA unchanged (no "\n" escapes, tokens or final dot of its
        // own): so the file is the message dot-stuffed, with the final dot line.
        var stuffed = Encoding.Latin1.GetString(message).Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        File.WriteAllBytes(file, Encoding.Latin1.GetBytes((stuffed.StartsWith('.') ? "." : "") + stuffed + ".\r\n"));
        List<string> arguments =
        [
            "--server", $"{host}:{suite.Ports(mode).Smtp}", "--auth", auth, "--auth-user", User, "--auth-password", Password,
            "--from", User, "--to", Recipient, "--data", "@" + file, "--no-data-fixup", "--hide-all",
        ];
        if (mode != ClientMode.Plain)
        {
            arguments.AddRange([mode == ClientMode.Implicit ? "--tlsc" : "--tls", "--tls-verify", "--tls-ca-path", suite.CaFile]);
        }
        if (pipelining)
        {
            arguments.Add("--pipeline");
        }
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "swaks", arguments);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertRelayedByteExact(subject, message);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>s-nail composes the message itself (its headers, its Date and Message-ID): the body must arrive as typed.</summary>
    [Theory]
    [MemberData(nameof(EveryMode))]
    public async Task SNail_SendsATypedMessage_BodyArrivesAsTyped(ClientMode mode, string host)
    {
        var subject = "s-nail " + Guid.NewGuid().ToString("N")[..8];
        var home = suite.NewHome("s-nail");
        List<string> arguments =
        [
            "-:/", "-Sv15-compat", "-Sexpandaddr", "-Sttycharset=utf-8", "-Ssendcharsets=utf-8",
            $"-Smta={(mode == ClientMode.Implicit ? "smtps" : "smtp")}://{Uri.EscapeDataString(User)}:{Uri.EscapeDataString(Password)}@{host}:{suite.Ports(mode).Smtp}",
            "-Ssmtp-auth=login", $"-Sfrom={User}",
        ];
        if (mode == ClientMode.StartTls)
        {
            arguments.Add("-Ssmtp-use-starttls");
        }
        if (mode != ClientMode.Plain)
        {
            arguments.AddRange([$"-Stls-ca-file={suite.CaFile}", "-Stls-ca-no-defaults", "-Stls-verify=strict"]);
        }
        arguments.AddRange(["-s", subject, Recipient]);
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "s-nail", arguments, "First line of the body.\n.A line starting with a dot\n..\nLast line.\n"u8.ToArray());

        Assert.True(run.ExitCode == 0, run.ToString());
        var relayed = Relayed(subject);
        Assert.EndsWith("\r\n\r\nFirst line of the body.\r\n.A line starting with a dot\r\n..\r\nLast line.\r\n", Encoding.Latin1.GetString(relayed.Data), StringComparison.Ordinal);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>NeoMutt's batch mode sends with its own SMTP client (GnuTLS).</summary>
    [Theory]
    [MemberData(nameof(EveryMode))]
    public async Task NeoMutt_SendsInBatchMode_BodyArrivesAsTyped(ClientMode mode, string host)
    {
        var subject = "neomutt " + Guid.NewGuid().ToString("N")[..8];
        var home = suite.NewHome("neomutt-send");
        var rc = Path.Combine(home, "neomuttrc");
        File.WriteAllText(rc, $"""
            set ssl_ca_certificates_file = "{suite.CaFile}"
            set certificate_file = "{home}/certificates"
            set smtp_url = "{(mode == ClientMode.Implicit ? "smtps" : "smtp")}://{User}@{host}:{suite.Ports(mode).Smtp}/"
            set smtp_pass = "{Password}"
            set smtp_authenticators = "login"
            set ssl_starttls = {(mode == ClientMode.StartTls ? "yes" : "no")}
            set ssl_force_tls = {(mode == ClientMode.Plain ? "no" : "yes")}
            set from = "{User}"
            set use_from = yes
            set record = ""

            """);
        var mark = suite.LogMark();

        var run = await ClientRun.RunAsync(home, "neomutt", ["-n", "-F", rc, "-s", subject, Recipient], "Body from NeoMutt.\n.dot line\n"u8.ToArray());

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.EndsWith("\r\n\r\nBody from NeoMutt.\r\n.dot line\r\n", Encoding.Latin1.GetString(Relayed(subject).Data), StringComparison.Ordinal);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// EspoCRM's sending: Symfony Mailer's EsmtpTransport with security "STARTTLS" (it upgrades whenever EHLO offers
    /// STARTTLS and verifies the certificate), once EspoCRM trusts the proxy's CA.
    /// </summary>
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task SymfonyMailer_StartTlsTrustingTheCa_ArrivesByteExact(string host)
    {
        var (subject, message) = NewMessage("symfony");
        var home = suite.NewHome("symfony");
        var mark = suite.LogMark();

        var run = await SymfonyAsync(home, host, suite.StartTlsPorts.Smtp, "auto", suite.CaFile, message);

        Assert.True(run.ExitCode == 0, run.ToString());
        // Symfony ends DATA with CRLF "." CRLF even after the message's own final line end: one empty line more.
        AssertRelayedByteExact(subject, [.. message, .. "\r\n"u8]);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>EspoCRM's security "SSL/TLS" for SMTP: Symfony's smtps:// on the auto listener, trusting the CA.</summary>
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task SymfonyMailer_ImplicitTlsTrustingTheCa_ArrivesByteExact(string host)
    {
        var (subject, message) = NewMessage("symfony-smtps");
        var home = suite.NewHome("symfony-smtps");
        var mark = suite.LogMark();

        var run = await SymfonyAsync(home, host, suite.AutoPorts.Smtp, "implicit", suite.CaFile, message);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertRelayedByteExact(subject, [.. message, .. "\r\n"u8]);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>
    /// EspoCRM's security "None" with no CA installed anywhere: the auto listener offers no STARTTLS, so Symfony Mailer
    /// (which upgrades whenever STARTTLS is offered) stays in plaintext and sends.
    /// </summary>
    [Fact]
    public async Task SymfonyMailer_NoneOnTheAutoListenerWithoutTheCa_StaysPlaintextAndArrivesByteExact()
    {
        var (subject, message) = NewMessage("symfony-none");
        var home = suite.NewHome("symfony-none");
        var mark = suite.LogMark();

        var run = await SymfonyAsync(home, "127.0.0.1", suite.AutoPorts.Smtp, "auto", "none", message);

        Assert.True(run.ExitCode == 0, run.ToString());
        AssertRelayedByteExact(subject, [.. message, .. "\r\n"u8]);
        suite.AssertLogCleanSince(mark);
    }

    /// <summary>Without the proxy's CA, Symfony Mailer refuses the certificate STARTTLS brings: the documented failure.</summary>
    [Fact]
    public async Task SymfonyMailer_StartTlsWithoutTheCa_RefusesTheCertificate()
    {
        var (_, message) = NewMessage("symfony-no-ca");
        var home = suite.NewHome("symfony-no-ca");
        var mark = suite.LogMark();

        var run = await SymfonyAsync(home, "127.0.0.1", suite.StartTlsPorts.Smtp, "auto", "none", message);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("certificate verify failed", run.StandardError, StringComparison.Ordinal);
        suite.AssertLogCleanSince(mark);
    }

    private static Task<ClientRunResult> SymfonyAsync(string home, string host, int port, string security, string caFile, byte[] message)
    {
        var file = Path.Combine(home, "message.eml");
        File.WriteAllBytes(file, message);
        var script = Path.Combine(AppContext.BaseDirectory, "Clients", "symfony_send.php");
        return ClientRun.RunAsync(home, "php", [script, host, $"{port}", security, User, Password, caFile, file]);
    }

    /// <summary>A 40 KiB message with 8-bit text and dot lines, a Date and a Message-ID (so that no client adds one), under a subject of its own.</summary>
    private static (string Subject, byte[] Message) NewMessage(string client)
    {
        var subject = $"{client} {Guid.NewGuid():N}";
        return (subject, DovecotMessages.Large(40 * 1024, subject, seed: 21));
    }

    private static string Excerpt(ReadOnlySpan<byte> bytes, int at)
    {
        var start = Math.Max(0, at - 40);
        return Encoding.Latin1.GetString(bytes[start..Math.Min(bytes.Length, at + 40)]).Replace("\r", "<CR>", StringComparison.Ordinal).Replace("\n", "<LF>", StringComparison.Ordinal);
    }

    private SmtpSinkMessage Relayed(string subject) =>
        Assert.Single(suite.Dovecot.Sink.Messages, m => Encoding.Latin1.GetString(m.Data).Contains(subject, StringComparison.Ordinal));

    /// <summary>The sink got the message once, from the account to the recipient, as Dovecot's Received header followed by <paramref name="expected"/> unchanged.</summary>
    private void AssertRelayedByteExact(string subject, byte[] expected)
    {
        var relayed = Relayed(subject);
        Assert.StartsWith($"MAIL FROM:<{User}>", relayed.MailFrom, StringComparison.Ordinal);
        Assert.Equal([$"RCPT TO:<{Recipient}>"], relayed.Recipients);
        Assert.True(relayed.Data.Length > expected.Length, $"Dovecot adds its Received header: {relayed.Data.Length} bytes arrived for {expected.Length} sent");
        var trace = Encoding.Latin1.GetString(relayed.Data, 0, relayed.Data.Length - expected.Length);
        Assert.StartsWith("Received: from ", trace, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\n\r\n", trace, StringComparison.Ordinal);
        var start = relayed.Data.AsSpan().IndexOf(expected.AsSpan(0, 64));
        var arrived = relayed.Data.AsSpan(Math.Max(0, start));
        var first = arrived.CommonPrefixLength(expected);
        Assert.True(
            start == relayed.Data.Length - expected.Length && first == expected.Length,
            $"the message arrives byte for byte after Dovecot's Received header; {arrived.Length} bytes arrived for {expected.Length}, the first difference at byte {first}: {Excerpt(arrived, first)} (sent {Excerpt(expected, first)})");
    }
}
