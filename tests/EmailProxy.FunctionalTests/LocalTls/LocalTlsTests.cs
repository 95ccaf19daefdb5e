using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace EmailProxy.FunctionalTests.LocalTls;

/// <summary>
/// TLS towards the proxy's clients, per listener mode: <c>auto</c> (implicit TLS sniffed, and plaintext, on the same
/// port; no STARTTLS), <c>starttls</c>, <c>implicit</c> and <c>off</c>, checked by clients that verify the certificate
/// against the proxy's generated CA; and what the log says when a client's TLS does not fit the mode.
/// </summary>
public sealed class LocalTlsTests
{
    public static TheoryData<string, string, SecureSocketOptions> ProtocolsModesAndClients()
    {
        var data = new TheoryData<string, string, SecureSocketOptions>();
        foreach (var protocol in new[] { "IMAP", "POP3", "SMTP" })
        {
            data.Add(protocol, "auto", SecureSocketOptions.SslOnConnect);
            data.Add(protocol, "auto", SecureSocketOptions.None);
            data.Add(protocol, "starttls", SecureSocketOptions.StartTls);
            data.Add(protocol, "starttls", SecureSocketOptions.None);
            data.Add(protocol, "implicit", SecureSocketOptions.SslOnConnect);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ProtocolsModesAndClients))]
    public async Task MailKit_EachProtocolModeAndClientSecurity_WorksWithTheCertificateVerifiedAgainstTheGeneratedCa(string protocol, string mode, SecureSocketOptions security)
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Imap.AddMessage(TestMessages.Large(64 * 1024));
        env.Pop.AddMessage(TestMessages.Large(64 * 1024));
        env.WriteConfig(transform: TestEnvironment.WithLocalTls($"local_tls = {mode}"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        var validate = TrustedCa.From(env.LocalCaFile);

        using var client = NewClient(protocol, validate);
        await client.ConnectAsync("127.0.0.1", PortOf(env, protocol), security);
        Assert.Equal(security != SecureSocketOptions.None, client.IsSecure);
        await client.AuthenticateAsync(TestEnvironment.Account, "pw");
        switch (client)
        {
            case ImapClient imap:
                await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
                Assert.Equal(1, imap.Inbox.Count);
                break;
            case Pop3Client pop:
                Assert.Equal(1, pop.Count);
                break;
            case SmtpClient smtp:
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse(TestEnvironment.Account));
                message.To.Add(MailboxAddress.Parse("customer@example.org"));
                message.Subject = $"over local TLS ({mode})";
                message.Body = new TextPart("plain") { Text = "hello" };
                await smtp.SendAsync(message);
                break;
        }
        await client.DisconnectAsync(quit: true);
        if (protocol == "SMTP")
        {
            Assert.Single(env.Smtp.Messages);
        }
    }

    [Theory]
    [InlineData("IMAP")]
    [InlineData("POP3")]
    [InlineData("SMTP")]
    public async Task MailKit_StartTlsOnAnAutoListener_IsNotOfferedSoAClientThatInsistsFails(string protocol)
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();

        using var client = NewClient(protocol, TrustedCa.From(env.LocalCaFile));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.ConnectAsync("127.0.0.1", PortOf(env, protocol), SecureSocketOptions.StartTls));
        // A client that upgrades only when offered (Symfony Mailer, PHP's imap) stays in plaintext.
        using var optional = NewClient(protocol, TrustedCa.From(env.LocalCaFile));
        await optional.ConnectAsync("127.0.0.1", PortOf(env, protocol), SecureSocketOptions.StartTlsWhenAvailable);
        Assert.False(optional.IsSecure);
    }

    [Fact]
    public async Task Curl_ImapsPop3sAndSmtpsOnAutoListeners_VerifyAgainstTheCaFile()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Imap.AddMessage("Subject: imap over tls\r\n\r\nIMAP-MARKER\r\n"u8.ToArray());
        env.Pop.AddMessage("Subject: pop over tls\r\n\r\nPOP-MARKER\r\n"u8.ToArray());
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        var user = $"{TestEnvironment.Account}:pw";

        var imap = await RunAsync("curl", "-sS", "--cacert", env.LocalCaFile, "--user", user, $"imaps://127.0.0.1:{env.ImapPort}/INBOX;UID=1");
        Assert.True(imap.ExitCode == 0, imap.Output);
        Assert.Contains("IMAP-MARKER", imap.Output, StringComparison.Ordinal);

        var pop = await RunAsync("curl", "-sS", "--cacert", env.LocalCaFile, "--user", user, $"pop3s://127.0.0.1:{env.PopPort}/1");
        Assert.True(pop.ExitCode == 0, pop.Output);
        Assert.Contains("POP-MARKER", pop.Output, StringComparison.Ordinal);

        // SMTP implicit TLS on the SMTP port (smtps://), sniffed like IMAP's and POP's.
        var file = Path.Combine(env.Directory, "mail.eml");
        await File.WriteAllTextAsync(file, "Subject: smtp over implicit tls\r\n\r\nSMTP-MARKER\r\n");
        var smtp = await RunAsync("curl", "-sS", "--cacert", env.LocalCaFile, "--user", user,
            "--mail-from", TestEnvironment.Account, "--mail-rcpt", "customer@example.org", "--upload-file", file, $"smtps://127.0.0.1:{env.SmtpPort}");
        Assert.True(smtp.ExitCode == 0, smtp.Output);
        Assert.Contains("SMTP-MARKER", System.Text.Encoding.UTF8.GetString(Assert.Single(env.Smtp.Messages).Data), StringComparison.Ordinal);

        // A CA the proxy did not make is refused: verification is really on.
        var wrongCa = await RunAsync("curl", "-sS", "--cacert", env.CaFile, "--user", user, $"imaps://127.0.0.1:{env.ImapPort}/INBOX;UID=1");
        Assert.NotEqual(0, wrongCa.ExitCode);
    }

    [Fact]
    public async Task Msmtp_SmtpsOnAnAutoListener_Sends()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var (exit, output) = await RunAsync("bash", "-c",
            $"printf 'Subject: msmtp\\r\\n\\r\\nMSMTP-MARKER\\r\\n' | msmtp --host=127.0.0.1 --port={env.SmtpPort} --tls=on --tls-starttls=off "
            + $"--tls-trust-file={env.LocalCaFile} --auth=on --user={TestEnvironment.Account} --passwordeval='echo pw' --from={TestEnvironment.Account} customer@example.org");
        Assert.True(exit == 0, output);
        Assert.Contains("MSMTP-MARKER", System.Text.Encoding.UTF8.GetString(Assert.Single(env.Smtp.Messages).Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AutoListener_ClientHelloAfterThePlaintextGreeting_IsClosedAndTheLogNamesTheFix()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        var proxy = await env.StartProxyAsync();

        // A TLS client that is slower than the wait: it starts its handshake only once the greeting is there.
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        var greeting = await client.ReadLineAsync();
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", greeting, StringComparison.Ordinal);
        Assert.DoesNotContain("STARTTLS", greeting, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => client.UpgradeToTlsAsync(TrustedCa.From(env.LocalCaFile)));

        var warning = await proxy.WaitForLineAsync(l => l.Contains("started a TLS handshake", StringComparison.Ordinal));
        Assert.Contains("IMAP client 127.0.0.1:", warning, StringComparison.Ordinal);
        Assert.Contains("imap_tls = auto waited 1000 ms for a ClientHello, got none and greeted in plaintext", warning, StringComparison.Ordinal);
        Assert.Contains("set imap_tls = implicit (TLS only on this port), or set the client to plaintext", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartTlsListener_ClientHello_IsClosedWithoutAGreetingMixUpAndTheLogSaysWhy()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = starttls"));
        var proxy = await env.StartProxyAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => LineClient.ConnectTlsAsync(env.PopPort, TrustedCa.From(env.LocalCaFile)));

        var warning = await proxy.WaitForLineAsync(l => l.Contains("started a TLS handshake", StringComparison.Ordinal));
        Assert.Contains("POP3 client 127.0.0.1:", warning, StringComparison.Ordinal);
        Assert.Contains("pop_tls = starttls greets in plaintext and offers STARTTLS; set the client to STARTTLS, or set pop_tls = implicit", warning, StringComparison.Ordinal);
        await proxy.WaitForLineAsync(l => l.Contains("TLS handshake refused: this port starts in plaintext", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ImplicitListener_ClientThatDoesNotTrustTheCa_TheLogNamesItsAlert()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = implicit"));
        var proxy = await env.StartProxyAsync();

        // curl with the system's CAs only: OpenSSL sends the alert unknown_ca during the handshake. When the rest of
        // the proxy's handshake reaches curl's closed socket, the reset may drop the alert before the proxy reads it;
        // each try comes from its own loopback address, since the proxy logs one line per address and minute.
        var lines = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var from = $"127.0.0.{10 + i}";
            var (exit, output) = await RunAsync("curl", "-sS", "--interface", from, "--user", $"{TestEnvironment.Account}:pw", $"imaps://127.0.0.1:{env.ImapPort}/INBOX");
            Assert.True(exit != 0, output);
            lines.Add(await proxy.WaitForLineAsync(l => l.Contains($"TLS handshake with client {from}:", StringComparison.Ordinal)));
        }

        Assert.All(lines, line => Assert.Contains("does not trust the proxy's certificate; install the CA that issued it", line, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("failed: the client sent the TLS alert 'unknown ca': the client does not trust the proxy's certificate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ImplicitListener_SmtpGreetsOnlyUnderTls_AndOffersNoStartTlsThere()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = implicit"));
        await env.StartProxyAsync();

        await using var client = await LineClient.ConnectTlsAsync(env.SmtpPort, TrustedCa.From(env.LocalCaFile));
        Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("EHLO client\r\n");
        var ehlo = await client.ReadSmtpReplyAsync();
        Assert.DoesNotContain("STARTTLS", ehlo, StringComparison.Ordinal);
        Assert.Contains("250 AUTH PLAIN LOGIN", ehlo, StringComparison.Ordinal);
        await client.WriteAsync("STARTTLS\r\n");
        Assert.Equal("503 5.5.1 TLS is already active", await client.ReadSmtpReplyAsync());
    }

    [Fact]
    public async Task SeedNcLine_OnTheAutoDetectingPort_GetsPlaintextAnswers()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();
        // The seed README's check, with -N so that nc ends its side when printf is done.
        var (exit, output) = await RunAsync("bash", "-c", $"printf 'a1 LOGIN {TestEnvironment.Account} x\\r\\n' | nc -N 127.0.0.1 {env.ImapPort}");
        Assert.Equal(0, exit);
        Assert.Contains("* OK [CAPABILITY IMAP4rev1", output, StringComparison.Ordinal);
        Assert.Contains("a1 NO [AUTHENTICATIONFAILED] Account user@example.com needs an OAuth2 sign-in", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HalfClosingClient_AfterLogin_StillGetsTheUpstreamsAnswers()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInAsync(env, proxy);
        var (exit, output) = await RunAsync("bash", "-c", $"printf 'a1 LOGIN {TestEnvironment.Account} x\\r\\na2 SELECT INBOX\\r\\na3 LOGOUT\\r\\n' | nc -N 127.0.0.1 {env.ImapPort}");
        Assert.Equal(0, exit);
        Assert.Contains("a2 OK", output, StringComparison.Ordinal);
        Assert.Contains("a3 OK LOGOUT completed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImapStartTls_CommandsInjectedBehindIt_AreNeverExecuted()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = starttls"));
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.ImapPort);
        Assert.Contains(" STARTTLS]", await client.ReadLineAsync(), StringComparison.Ordinal);
        await client.WriteAsync($"a1 STARTTLS\r\na2 LOGIN {TestEnvironment.Account} injected\r\n");
        Assert.Equal("a1 OK Begin TLS negotiation now", await client.ReadLineAsync());
        await client.UpgradeToTlsAsync(TrustedCa.From(env.LocalCaFile));

        await client.WriteAsync("a3 CAPABILITY\r\n");
        var capability = await client.ReadLineAsync();
        Assert.StartsWith("* CAPABILITY IMAP4rev1", capability, StringComparison.Ordinal);
        Assert.DoesNotContain("STARTTLS", capability, StringComparison.Ordinal);
        Assert.Equal("a3 OK CAPABILITY completed", await client.ReadLineAsync());
        await client.WriteAsync("a4 STARTTLS\r\n");
        Assert.StartsWith("a4 BAD", await client.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmtpStartTls_CommandsInjectedBehindIt_AreNeverExecuted()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = starttls"));
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.SmtpPort);
        await client.ReadSmtpReplyAsync();
        await client.WriteAsync("EHLO client\r\n");
        Assert.Contains("250-STARTTLS", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        await client.WriteAsync("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n");
        Assert.Equal("220 2.0.0 Ready to start TLS", await client.ReadSmtpReplyAsync());
        await client.UpgradeToTlsAsync(TrustedCa.From(env.LocalCaFile));

        await client.WriteAsync("EHLO client\r\n");
        var ehlo = await client.ReadSmtpReplyAsync();
        Assert.StartsWith("250-", ehlo, StringComparison.Ordinal);
        Assert.DoesNotContain("STARTTLS", ehlo, StringComparison.Ordinal);
        Assert.Contains("250 AUTH PLAIN LOGIN", ehlo, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pop3Stls_CommandsInjectedBehindIt_AreNeverExecuted()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = starttls"));
        await env.StartProxyAsync();
        await using var client = await LineClient.ConnectAsync(env.PopPort);
        await client.ReadLineAsync();
        await client.WriteAsync("STLS\r\nUSER injected@example.org\r\n");
        Assert.Equal("+OK Begin TLS negotiation", await client.ReadLineAsync());
        await client.UpgradeToTlsAsync(TrustedCa.From(env.LocalCaFile));

        await client.WriteAsync("PASS x\r\n");
        Assert.Equal("-ERR Send USER first", await client.ReadLineAsync());
        await client.WriteAsync("CAPA\r\n");
        var capabilities = new List<string>();
        await client.ReadUntilAsync(l => l == ".", capabilities);
        Assert.DoesNotContain("STLS", capabilities);
    }

    [Fact]
    public async Task GeneratedCertificate_IsKeptAcrossARestart()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        var proxy = await env.StartProxyAsync();
        await proxy.WaitForLineAsync(l => l.Contains(env.LocalCaFile, StringComparison.Ordinal) && l.Contains("install it as a trusted CA", StringComparison.Ordinal));
        var tls = Path.GetDirectoryName(env.LocalCaFile)!;
        var ca = await File.ReadAllBytesAsync(env.LocalCaFile);
        var server = await File.ReadAllBytesAsync(Path.Combine(tls, "server.pem"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "ca.key")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "server.key")));
        }
        var trust = TrustedCa.From(env.LocalCaFile);
        Assert.Equal(0, await proxy.StopAsync());

        await env.StartProxyAsync();
        Assert.Equal(ca, await File.ReadAllBytesAsync(env.LocalCaFile));
        Assert.Equal(server, await File.ReadAllBytesAsync(Path.Combine(tls, "server.pem")));
        await using var client = await LineClient.ConnectTlsAsync(env.ImapPort, trust);
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", await client.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GeneratedCertificate_CoversLocalTlsNames_AndANewNameInsideTheCaRenewsItButKeepsTheCa()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto\nlocal_tls_names = espocrm-proxy, 10.0.0.7"));
        var proxy = await env.StartProxyAsync();
        var serverPath = Path.Combine(Path.GetDirectoryName(env.LocalCaFile)!, "server.pem");
        using (var server = X509CertificateLoader.LoadCertificateFromFile(serverPath))
        {
            foreach (var name in new[] { "localhost", "127.0.0.1", "::1", System.Net.Dns.GetHostName(), "espocrm-proxy", "10.0.0.7" })
            {
                Assert.True(server.MatchesHostname(name), $"the certificate covers {name}");
            }
        }
        var ca = await File.ReadAllBytesAsync(env.LocalCaFile);
        Assert.Equal(0, await proxy.StopAsync());

        // A private address is inside the CA's name constraints; a public name is not, and is left out with a warning.
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto\nlocal_tls_names = espocrm-proxy, 10.0.0.7, 192.168.7.7, mail.example.com"));
        var restarted = await env.StartProxyAsync();
        using (var renewed = X509CertificateLoader.LoadCertificateFromFile(serverPath))
        {
            Assert.True(renewed.MatchesHostname("192.168.7.7"));
            Assert.False(renewed.MatchesHostname("mail.example.com"));
        }
        Assert.Contains(restarted.Output, l => l.Contains("mail.example.com is left out", StringComparison.Ordinal) && l.Contains("aside and restart", StringComparison.Ordinal));
        Assert.Equal(ca, await File.ReadAllBytesAsync(env.LocalCaFile));
    }

    [Fact]
    public async Task ConfiguredPemPair_IsUsedAndReadAgainWhenItChanges()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var certificate = Path.Combine(env.Directory, "proxy.crt");
        var key = Path.Combine(env.Directory, "proxy.key");
        WritePair(TestCertificates.Trusted.ServerCertificate, certificate, key);
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto\nlocal_certificate = proxy.crt\nlocal_key = proxy.key"));
        await env.StartProxyAsync();
        Assert.False(Directory.Exists(Path.Combine(env.Directory, "tls")), "no certificate is generated when one is configured");

        await using (var client = await LineClient.ConnectTlsAsync(env.PopPort, TrustedCa.From(env.CaFile)))
        {
            Assert.StartsWith("+OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        }

        // The operator renews the pair: the next handshake uses the new one, without a restart.
        var otherCa = Path.Combine(env.Directory, "other-ca.pem");
        TestCertificates.Untrusted.WriteCaPem(otherCa);
        WritePair(TestCertificates.Untrusted.ServerCertificate, certificate, key);
        await using (var client = await LineClient.ConnectTlsAsync(env.ImapPort, TrustedCa.From(otherCa)))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task LocalTlsOff_NothingTlsIsOfferedAndNoCertificateIsMade()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = off"));
        await env.StartProxyAsync();
        Assert.False(Directory.Exists(Path.Combine(env.Directory, "tls")));

        await using (var imap = await LineClient.ConnectAsync(env.ImapPort))
        {
            Assert.DoesNotContain("STARTTLS", await imap.ReadLineAsync(), StringComparison.Ordinal);
            await imap.WriteAsync("a1 STARTTLS\r\n");
            Assert.StartsWith("a1 BAD", await imap.ReadLineAsync(), StringComparison.Ordinal);
        }
        await using (var smtp = await LineClient.ConnectAsync(env.SmtpPort))
        {
            await smtp.ReadSmtpReplyAsync();
            await smtp.WriteAsync("EHLO x\r\n");
            Assert.DoesNotContain("STARTTLS", await smtp.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        }
        await using (var pop = await LineClient.ConnectAsync(env.PopPort))
        {
            await pop.ReadLineAsync();
            await pop.WriteAsync("CAPA\r\n");
            var capabilities = new List<string>();
            await pop.ReadUntilAsync(l => l == ".", capabilities);
            Assert.DoesNotContain("STLS", capabilities);
        }
        await Assert.ThrowsAnyAsync<Exception>(() => LineClient.ConnectTlsAsync(env.ImapPort, TrustedCa.From(env.CaFile)));
    }

    private static MailService NewClient(string protocol, System.Net.Security.RemoteCertificateValidationCallback validate) => protocol switch
    {
        "IMAP" => new ImapClient { ServerCertificateValidationCallback = validate, CheckCertificateRevocation = false },
        "POP3" => new Pop3Client { ServerCertificateValidationCallback = validate, CheckCertificateRevocation = false },
        _ => new SmtpClient { ServerCertificateValidationCallback = validate, CheckCertificateRevocation = false },
    };

    private static int PortOf(TestEnvironment env, string protocol) => protocol switch
    {
        "IMAP" => env.ImapPort,
        "POP3" => env.PopPort,
        _ => env.SmtpPort,
    };

    private static void WritePair(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using var rsa = certificate.GetRSAPrivateKey();
        using var ecdsa = rsa is null ? certificate.GetECDsaPrivateKey() : null;
        var keyPem = rsa?.ExportPkcs8PrivateKeyPem() ?? ecdsa!.ExportPkcs8PrivateKeyPem();
        File.WriteAllText(keyPath, keyPem + "\n");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        return (process.ExitCode, await stdout + await stderr);
    }
}
