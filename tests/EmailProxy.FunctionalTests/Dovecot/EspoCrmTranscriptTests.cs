using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// EspoCRM's own conversations (PROTOCOL-NOTES.md, "EspoCRM as a client") replayed byte for byte on the proxy's
/// plaintext loopback ports (local_tls = auto, as EspoCRM with security None meets them), with the real Dovecot behind the proxy: 9.3+ reading mail with directorytree/imapengine
/// (UIDs, BODY.PEEK, APPEND), up to 9.2 with laminas-mail (sequence numbers, RFC822.TEXT), and 9.1+ sending with
/// Symfony Mailer (EHLO, STARTTLS only when offered, AUTH LOGIN). Every reply must be the success EspoCRM waits for,
/// and mail must match Dovecot's maildir and its relay sink byte for byte.
/// </summary>
public sealed partial class EspoCrmTranscriptTests(DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string Account = TestEnvironment.Account;
    private const string Password = EspoCrmSetup.Password;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ImapEngine_LoginListSelectStatusUidFetchStoreAppendLogout_EveryReplyOkAndMailByteExact(bool passwordAsUnwaitedLiteral)
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = DovecotMessages.Large(256 * 1024, "EspoCRM imapengine " + Guid.NewGuid().ToString("N")[..8]);
        var name = EspoCrmSetup.DeliverAsOnlyInboxMessage(dovecot, message);
        var appended = EspoCrmSetup.Utf8Message("EspoCRM sent copy " + Guid.NewGuid().ToString("N")[..8]);
        // Both upstream modes: implicit TLS to Dovecot for one variant, STARTTLS for the other.
        // EspoCRM's IMAP with security None on the default local_tls = auto.
        await EspoCrmSetup.StartSignedInProxyAsync(dovecot, env, startTls: passwordAsUnwaitedLiteral, "local_tls = auto");
        var mark = dovecot.LogMark();

        await using (var client = await ImapWireClient.ConnectAsync(env.ImapPort))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            // No CAPABILITY, no STARTTLS on plaintext loopback: straight LOGIN with quoted strings.
            if (passwordAsUnwaitedLiteral)
            {
                // imapengine may send a synchronizing literal's data at once, without waiting for the "+".
                await client.WriteAsync($"TAG1 LOGIN \"{Account}\" {{{Password.Length}}}\r\n{Password}\r\n");
            }
            else
            {
                await client.WriteAsync($"TAG1 LOGIN \"{Account}\" \"{Password}\"\r\n");
            }
            AssertOk(await client.ReadReplyAsync("TAG1"));

            var list = AssertOk(await client.CommandAsync("TAG2", "LIST \"\" \"*\""));
            Assert.Contains(list.Untagged, line => line.StartsWith("* LIST (", StringComparison.Ordinal) && line.EndsWith(" INBOX", StringComparison.Ordinal));

            var select = AssertOk(await client.CommandAsync("TAG3", "SELECT \"INBOX\""));
            Assert.StartsWith("TAG3 OK [READ-WRITE]", select.Tagged, StringComparison.Ordinal);
            Assert.Contains("* 1 EXISTS", select.Untagged);
            var selectedValidity = Assert.Single(select.Untagged.Select(line => UidValidityCode().Match(line)), m => m.Success).Groups[1].Value;

            var status = AssertOk(await client.CommandAsync("TAG4", "STATUS \"INBOX\" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"));
            var statusLine = Assert.Single(status.Untagged, line => line.StartsWith("* STATUS ", StringComparison.Ordinal));
            var items = StatusItems().Match(statusLine);
            Assert.True(items.Success, $"STATUS answers MESSAGES, UIDNEXT, UIDVALIDITY and UNSEEN: {statusLine}");
            Assert.Equal("1", items.Groups["messages"].Value);
            Assert.Equal(selectedValidity, items.Groups["validity"].Value);
            Assert.Equal("1", items.Groups["unseen"].Value);
            var uidNext = long.Parse(items.Groups["next"].Value, CultureInfo.InvariantCulture);

            var search = AssertOk(await client.CommandAsync("TAG5", "UID SEARCH ALL"));
            var uid = long.Parse(Assert.Single(search.Untagged, line => line.StartsWith("* SEARCH", StringComparison.Ordinal))["* SEARCH ".Length..], CultureInfo.InvariantCulture);
            Assert.True(uid < uidNext, $"UID {uid} is below UIDNEXT {uidNext}");

            var header = AssertOk(await client.CommandAsync("TAG6", $"UID FETCH {uid} (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])"));
            var headerFetch = Assert.Single(header.Untagged, line => line.StartsWith("* 1 FETCH (", StringComparison.Ordinal));
            Assert.Contains($"UID {uid}", headerFetch, StringComparison.Ordinal);
            Assert.Contains($"RFC822.SIZE {message.Length}", headerFetch, StringComparison.Ordinal);
            Assert.DoesNotContain("\\Seen", headerFetch, StringComparison.Ordinal);
            Assert.Equal(EspoCrmSetup.Header(message), Assert.Single(header.Literals));

            var body = AssertOk(await client.CommandAsync("TAG7", $"UID FETCH {uid} (BODY.PEEK[])"));
            Assert.Single(body.Untagged, line => line.StartsWith("* 1 FETCH (", StringComparison.Ordinal));
            var fetched = Assert.Single(body.Literals);
            var stored = await File.ReadAllBytesAsync(EspoCrmSetup.MessageFile(dovecot, name));
            Assert.True(stored.AsSpan().SequenceEqual(fetched), $"BODY.PEEK[] is the maildir file byte for byte ({fetched.Length} of {stored.Length} bytes)");
            Assert.True(message.AsSpan().SequenceEqual(fetched), "and the delivered message");

            var store = AssertOk(await client.CommandAsync("TAG8", $"UID STORE {uid} +FLAGS.SILENT (\\Seen)"));
            Assert.DoesNotContain(store.Untagged, line => line.Contains("FETCH", StringComparison.Ordinal));

            await client.WriteAsync($"TAG9 APPEND \"INBOX\" (\\Seen) {{{appended.Length}}}\r\n");
            Assert.StartsWith("+", await client.ReadLineAsync(), StringComparison.Ordinal);
            await client.WriteAsync(WithAscii(appended, "\r\n"));
            var append = AssertOk(await client.ReadReplyAsync("TAG9"));
            Assert.StartsWith($"TAG9 OK [APPENDUID {selectedValidity} ", append.Tagged, StringComparison.Ordinal);

            var logout = AssertOk(await client.CommandAsync("TAG10", "LOGOUT"));
            Assert.Contains(logout.Untagged, line => line.StartsWith("* BYE", StringComparison.Ordinal));
            Assert.True(await client.IsClosedByServerAsync());
        }

        // The \Seen of TAG8 is in the maildir file's name (":2,S"), and the APPENDed copy is stored byte for byte.
        var files = dovecot.MessageFiles(null);
        Assert.Equal(2, files.Length);
        Assert.Contains('S', MaildirFlags(EspoCrmSetup.MessageFile(dovecot, name)));
        var copy = Assert.Single(files, file => !Path.GetFileName(file).StartsWith(name, StringComparison.Ordinal));
        Assert.Contains('S', MaildirFlags(copy));
        var storedCopy = await File.ReadAllBytesAsync(copy);
        Assert.True(appended.AsSpan().SequenceEqual(storedCopy), "the APPENDed message is stored byte for byte");

        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("imap-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LaminasMail_LoginSelectSearchFetchRfc822TextStoreLogout_EveryReplyOkAndBodyByteExact()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var message = DovecotMessages.Large(128 * 1024, "EspoCRM laminas " + Guid.NewGuid().ToString("N")[..8], seed: 11);
        var name = EspoCrmSetup.DeliverAsOnlyInboxMessage(dovecot, message);
        await EspoCrmSetup.StartSignedInProxyAsync(dovecot, env, startTls: true, "local_tls = auto");

        await using (var client = await ImapWireClient.ConnectAsync(env.ImapPort))
        {
            Assert.StartsWith("* OK", await client.ReadLineAsync(), StringComparison.Ordinal);
            AssertOk(await client.CommandAsync("TAG1", $"LOGIN \"{Account}\" \"{Password}\""));

            var select = AssertOk(await client.CommandAsync("TAG2", "SELECT INBOX"));
            Assert.Contains("* 1 EXISTS", select.Untagged);

            var search = AssertOk(await client.CommandAsync("TAG3", "SEARCH ALL"));
            Assert.Equal("* SEARCH 1", Assert.Single(search.Untagged, line => line.StartsWith("* SEARCH", StringComparison.Ordinal)));

            var header = AssertOk(await client.CommandAsync("TAG4", "FETCH 1 (FLAGS RFC822.HEADER)"));
            var headerFetch = Assert.Single(header.Untagged, line => line.StartsWith("* 1 FETCH (", StringComparison.Ordinal));
            Assert.Contains("FLAGS (", headerFetch, StringComparison.Ordinal);
            Assert.Contains("RFC822.HEADER {", headerFetch, StringComparison.Ordinal);
            Assert.Equal(EspoCrmSetup.Header(message), Assert.Single(header.Literals));

            var text = AssertOk(await client.CommandAsync("TAG5", "FETCH 1 RFC822.TEXT"));
            var textFetch = Assert.Single(text.Untagged, line => line.StartsWith("* 1 FETCH (", StringComparison.Ordinal) && line.Contains("RFC822.TEXT {", StringComparison.Ordinal));
            Assert.Contains("\\Seen", textFetch, StringComparison.Ordinal);
            var fetched = Assert.Single(text.Literals);
            var stored = await File.ReadAllBytesAsync(EspoCrmSetup.MessageFile(dovecot, name));
            Assert.True(EspoCrmSetup.Body(stored).AsSpan().SequenceEqual(fetched), $"RFC822.TEXT is the maildir file's body byte for byte ({fetched.Length} bytes)");

            var store = AssertOk(await client.CommandAsync("TAG6", "STORE 1 +FLAGS (\\Seen)"));
            // RFC822.TEXT already set \Seen, so Dovecot has no flag change to report; any FETCH it sends carries \Seen.
            Assert.All(store.Untagged.Where(line => line.Contains("FETCH", StringComparison.Ordinal)), line => Assert.Contains("\\Seen", line, StringComparison.Ordinal));

            var logout = AssertOk(await client.CommandAsync("TAG7", "LOGOUT"));
            Assert.Contains(logout.Untagged, line => line.StartsWith("* BYE", StringComparison.Ordinal));
            Assert.True(await client.IsClosedByServerAsync());
        }

        Assert.Contains('S', MaildirFlags(EspoCrmSetup.MessageFile(dovecot, name)));
    }

    [Theory]
    [InlineData("local_tls = off")]
    [InlineData("local_tls = auto")]
    [InlineData("local_tls = off\nsmtp_tls = starttls")]
    public async Task SymfonyMailer_EhloAuthLoginMailRcptData_MessageArrivesAtTheSinkByteExact(string localTls)
    {
        var startTlsOffered = localTls.EndsWith("starttls", StringComparison.Ordinal);
        await using var env = await TestEnvironment.CreateAsync();
        var subject = "EspoCRM Symfony " + Guid.NewGuid().ToString("N")[..8];
        var message = EspoCrmSetup.Utf8Message(subject);
        await EspoCrmSetup.StartSignedInProxyAsync(dovecot, env, startTls: true, localTls);
        var mark = dovecot.LogMark();

        await using (var client = await LineClient.ConnectAsync(env.SmtpPort))
        {
            Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync("EHLO [127.0.0.1]\r\n");
            var ehlo = await client.ReadSmtpReplyAsync();
            Assert.StartsWith("250", ehlo, StringComparison.Ordinal);
            // Symfony upgrades only when STARTTLS is offered (starttls mode); with auto or off it goes on in plaintext.
            Assert.Equal(startTlsOffered, ehlo.Contains("STARTTLS", StringComparison.Ordinal));
            if (startTlsOffered)
            {
                await client.WriteAsync("STARTTLS\r\n");
                Assert.StartsWith("220 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
                await client.UpgradeToTlsAsync(TrustedCa.From(env.LocalCaFile));
                await client.WriteAsync("EHLO [127.0.0.1]\r\n");
                ehlo = await client.ReadSmtpReplyAsync();
                Assert.StartsWith("250", ehlo, StringComparison.Ordinal);
                Assert.DoesNotContain("STARTTLS", ehlo, StringComparison.Ordinal);
            }
            // Symfony authenticates only if EHLO lists AUTH, with LOGIN by default.
            Assert.Matches(AuthLoginOffered(), ehlo);

            await client.WriteAsync("AUTH LOGIN\r\n");
            Assert.StartsWith("334 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(Account)) + "\r\n");
            Assert.StartsWith("334 ", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(Password)) + "\r\n");
            Assert.StartsWith("235", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);

            await client.WriteAsync($"MAIL FROM:<{Account}>\r\n");
            Assert.StartsWith("250", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync("RCPT TO:<lead@example.org>\r\n");
            Assert.StartsWith("250", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync("DATA\r\n");
            Assert.StartsWith("354", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            // Symfony's dot-stuffing: every "\r\n." becomes "\r\n..".
            var stuffed = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(message).Replace("\r\n.", "\r\n..", StringComparison.Ordinal));
            Assert.NotEqual(message.Length, stuffed.Length);
            await client.WriteAsync(WithAscii(stuffed, ".\r\n"));
            Assert.StartsWith("250", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
            await client.WriteAsync("QUIT\r\n");
            Assert.StartsWith("221", await client.ReadSmtpReplyAsync(), StringComparison.Ordinal);
        }

        var relayed = Assert.Single(dovecot.Sink.Messages, m => Encoding.UTF8.GetString(m.Data).Contains(subject, StringComparison.Ordinal));
        Assert.StartsWith($"MAIL FROM:<{Account}>", relayed.MailFrom, StringComparison.Ordinal);
        Assert.Equal(["RCPT TO:<lead@example.org>"], relayed.Recipients);
        AssertRelayedByteExact(message, relayed.Data);

        var login = await dovecot.WaitForLogAsync(mark, l => l.Contains("submission-login: Info: Login: user=<user@example.com>", StringComparison.Ordinal));
        Assert.Contains("method=XOAUTH2", login, StringComparison.Ordinal);
    }

    /// <summary>Dovecot's submission puts one Received: header in front of the message and relays the rest unchanged.</summary>
    internal static void AssertRelayedByteExact(byte[] message, byte[] relayed)
    {
        Assert.True(relayed.Length > message.Length, "a Received: header was added");
        var trace = Encoding.Latin1.GetString(relayed, 0, relayed.Length - message.Length);
        Assert.StartsWith("Received: from ", trace, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", trace, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\n\r\n", trace, StringComparison.Ordinal);
        Assert.True(message.AsSpan().SequenceEqual(relayed.AsSpan(relayed.Length - message.Length)), "the message arrives byte for byte after Dovecot's trace header");
    }

    private static byte[] WithAscii(byte[] bytes, string end) => [.. bytes, .. Encoding.ASCII.GetBytes(end)];

    private static ImapWireReply AssertOk(ImapWireReply reply)
    {
        var tag = reply.Tagged.Split(' ', 2)[0];
        Assert.True(reply.Tagged.StartsWith(tag + " OK", StringComparison.Ordinal), $"{tag} is answered OK: {reply.Describe()}");
        return reply;
    }

    /// <summary>The flags of a maildir file name ("...:2,FLAGS"); empty for a message still in new/.</summary>
    private static string MaildirFlags(string file)
    {
        var fileName = Path.GetFileName(file);
        var info = fileName.LastIndexOf(":2,", StringComparison.Ordinal);
        return info < 0 ? "" : fileName[(info + 3)..];
    }

    [GeneratedRegex(@"\[UIDVALIDITY (\d+)\]")]
    private static partial Regex UidValidityCode();

    [GeneratedRegex(@"^\* STATUS (""INBOX""|INBOX) \((?=.*\bMESSAGES (?<messages>\d+))(?=.*\bUIDNEXT (?<next>\d+))(?=.*\bUIDVALIDITY (?<validity>\d+))(?=.*\bUNSEEN (?<unseen>\d+)).*\)$")]
    private static partial Regex StatusItems();

    [GeneratedRegex(@"(?m)^250[ -]AUTH\b.*\bLOGIN\b")]
    private static partial Regex AuthLoginOffered();
}
