using System.Text;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>What the EspoCRM and curl tests against Dovecot share: the proxy started with or without local TLS, an INBOX of known content, and their messages.</summary>
internal static class EspoCrmSetup
{
    public const string Password = "any-Pa55word";

    /// <summary>
    /// <see cref="DovecotFixture.StartSignedInProxyAsync"/> with the local TLS lines <paramref name="localTls"/>
    /// (e.g. <c>local_tls = auto</c>, EspoCRM's way with security None).
    /// </summary>
    public static Task<ProxyProcess> StartSignedInProxyAsync(DovecotFixture dovecot, TestEnvironment env, bool startTls, string localTls) =>
        dovecot.StartSignedInProxyAsync(env, startTls, localTls);

    /// <summary>
    /// Empties the INBOX (its maildir files are deleted; Dovecot expunges them at its next sync) and delivers
    /// <paramref name="message"/> as its only message, so that it is message 1. Returns the delivered file's name.
    /// </summary>
    public static string DeliverAsOnlyInboxMessage(DovecotFixture dovecot, byte[] message)
    {
        foreach (var file in dovecot.MessageFiles(null))
        {
            File.Delete(file);
        }
        return dovecot.Deliver(null, message);
    }

    /// <summary>The maildir file (in new/ or cur/, whatever its flags) of the message delivered as <paramref name="name"/>.</summary>
    public static string MessageFile(DovecotFixture dovecot, string name) =>
        Assert.Single(dovecot.MessageFiles(null), file => Path.GetFileName(file).StartsWith(name, StringComparison.Ordinal));

    /// <summary>The header of a message, up to and including the empty line that ends it.</summary>
    public static byte[] Header(byte[] message) => message[..(message.AsSpan().IndexOf("\r\n\r\n"u8) + 4)];

    /// <summary>The body of a message: everything after the empty line that ends the header.</summary>
    public static byte[] Body(byte[] message) => message[(message.AsSpan().IndexOf("\r\n\r\n"u8) + 4)..];

    /// <summary>
    /// A message as EspoCRM writes one: UTF-8 text sent 8-bit, a line that starts with a dot and one that is two dots
    /// (both dot-stuffed on an SMTP wire), CRLF line ends, a subject of its own.
    /// </summary>
    public static byte[] Utf8Message(string subject, string to = "Lead <lead@example.org>") =>
        Encoding.UTF8.GetBytes(
            $"From: Sales <{TestEnvironment.Account}>\r\n" +
            $"To: {to}\r\n" +
            $"Subject: {subject}\r\n" +
            "Date: Tue, 24 Nov 2026 09:30:00 +0000\r\n" +
            $"Message-ID: <{Guid.NewGuid():N}@espocrm.test>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n" +
            "Grüße aus München – the quote is 1.234,56 €.\r\n" +
            ".a line that starts with a dot\r\n" +
            "..\r\n" +
            "Ελληνικά, 日本語, emoji 📨\r\n" +
            "\r\n" +
            "-- \r\n" +
            "Sales\r\n");
}
