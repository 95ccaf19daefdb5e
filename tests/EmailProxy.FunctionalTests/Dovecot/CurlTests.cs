using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// curl (libcurl's IMAP, POP3 and SMTP) through the real emailproxy to the real Dovecot: plaintext on loopback and
/// local TLS verified against the proxy's generated CA (<c>--cacert</c>). What curl prints is compared byte for byte
/// with Dovecot's maildir file; what it sends arrives at Dovecot's relay sink byte for byte.
/// </summary>
public sealed partial class CurlTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private static readonly string User = $"{TestEnvironment.Account}:{EspoCrmSetup.Password}";

    [Fact]
    public async Task Curl_ImapAndImapsUidUrl_PrintsTheMaildirFileByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = DovecotMessages.Large(200 * 1024, "curl IMAP " + Guid.NewGuid().ToString("N")[..8], seed: 13);
        var name = EspoCrmSetup.DeliverAsOnlyInboxMessage(dovecot, message);
        // auto: plaintext and implicit TLS on the one port.
        await dovecot.StartSignedInProxyAsync(env, startTls: false, "local_tls = auto");

        // The UID, as curl reports it for a custom command on the selected mailbox.
        var search = await RunCurlAsync("--user", User, $"imap://127.0.0.1:{env.ImapPort}/INBOX", "-X", "UID SEARCH ALL");
        Assert.True(search.ExitCode == 0, search.Describe());
        var uid = long.Parse(SearchResult().Match(Encoding.ASCII.GetString(search.Output)).Groups[1].Value, CultureInfo.InvariantCulture);

        var stored = await File.ReadAllBytesAsync(EspoCrmSetup.MessageFile(dovecot, name));
        Assert.True(message.AsSpan().SequenceEqual(stored));

        var imap = await RunCurlAsync("--user", User, $"imap://127.0.0.1:{env.ImapPort}/INBOX;UID={uid}");
        Assert.True(imap.ExitCode == 0, imap.Describe());
        Assert.True(stored.AsSpan().SequenceEqual(imap.Output), $"imap:// prints the maildir file byte for byte ({imap.Output.Length} of {stored.Length} bytes)");

        var imaps = await RunCurlAsync("--cacert", env.LocalCaFile, "--user", User, $"imaps://127.0.0.1:{env.ImapPort}/INBOX;UID={uid}");
        Assert.True(imaps.ExitCode == 0, imaps.Describe());
        Assert.True(stored.AsSpan().SequenceEqual(imaps.Output), $"imaps:// prints the maildir file byte for byte ({imaps.Output.Length} of {stored.Length} bytes)");
    }

    [Fact]
    public async Task Curl_Pop3AndPop3sFirstMessage_PrintsTheMaildirFileByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = DovecotMessages.Large(200 * 1024, "curl POP3 " + Guid.NewGuid().ToString("N")[..8], seed: 17);
        var name = EspoCrmSetup.DeliverAsOnlyInboxMessage(dovecot, message);
        await dovecot.StartSignedInProxyAsync(env, startTls: true, "local_tls = auto");
        var stored = await File.ReadAllBytesAsync(EspoCrmSetup.MessageFile(dovecot, name));

        // curl undoes the dot-stuffing of RETR's answer and leaves out the final dot line.
        var pop = await RunCurlAsync("--user", User, $"pop3://127.0.0.1:{env.PopPort}/1");
        Assert.True(pop.ExitCode == 0, pop.Describe());
        Assert.True(stored.AsSpan().SequenceEqual(pop.Output), $"pop3:// prints the maildir file byte for byte ({pop.Output.Length} of {stored.Length} bytes)");

        var pops = await RunCurlAsync("--cacert", env.LocalCaFile, "--user", User, $"pop3s://127.0.0.1:{env.PopPort}/1");
        Assert.True(pops.ExitCode == 0, pops.Describe());
        Assert.True(stored.AsSpan().SequenceEqual(pops.Output), $"pop3s:// prints the maildir file byte for byte ({pops.Output.Length} of {stored.Length} bytes)");
    }

    [Fact]
    public async Task Curl_SmtpWithSslReqd_FileArrivesAtTheSinkByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var subject = "curl SMTP " + Guid.NewGuid().ToString("N")[..8];
        var message = EspoCrmSetup.Utf8Message(subject);
        // --ssl-reqd: curl needs STARTTLS offered.
        await dovecot.StartSignedInProxyAsync(env, startTls: true, "local_tls = off\nsmtp_tls = starttls");
        var file = Path.Combine(env.Directory, "mail.eml");
        await File.WriteAllBytesAsync(file, message);

        var smtp = await RunCurlAsync("--ssl-reqd", "--cacert", env.LocalCaFile, "--user", User,
            "--mail-from", TestEnvironment.Account, "--mail-rcpt", "lead@example.org", "--upload-file", file, $"smtp://127.0.0.1:{env.SmtpPort}");
        Assert.True(smtp.ExitCode == 0, smtp.Describe());

        var relayed = Assert.Single(dovecot.Sink.Messages, m => Encoding.UTF8.GetString(m.Data).Contains(subject, StringComparison.Ordinal));
        Assert.StartsWith($"MAIL FROM:<{TestEnvironment.Account}>", relayed.MailFrom, StringComparison.Ordinal);
        Assert.Equal(["RCPT TO:<lead@example.org>"], relayed.Recipients);
        EspoCrmTranscriptTests.AssertRelayedByteExact(message, relayed.Data);

        // A CA the proxy did not make is refused: verification is really on.
        var wrongCa = await RunCurlAsync("--ssl-reqd", "--cacert", env.CaFile, "--user", User,
            "--mail-from", TestEnvironment.Account, "--mail-rcpt", "lead@example.org", "--upload-file", file, $"smtp://127.0.0.1:{env.SmtpPort}");
        Assert.NotEqual(0, wrongCa.ExitCode);
    }

    /// <summary>Runs curl silently (errors still shown), keeping its standard output as bytes.</summary>
    private static async Task<CurlResult> RunCurlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-sS");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("curl did not start.");
        var output = new MemoryStream();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(output);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw;
        }
        await stdout;
        return new CurlResult(process.ExitCode, output.ToArray(), await stderr);
    }

    [GeneratedRegex(@"^\* SEARCH (\d+)\r?$", RegexOptions.Multiline)]
    private static partial Regex SearchResult();
}
