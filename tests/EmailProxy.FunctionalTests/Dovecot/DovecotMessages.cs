using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>Messages for the byte-exact comparisons against Dovecot: 8-bit CRLF text, dot lines, a subject of their own.</summary>
internal static class DovecotMessages
{
    /// <summary>
    /// A message of about <paramref name="size"/> bytes: the body of <see cref="TestMessages.Large"/> (Latin-1
    /// letters, 76-byte lines), every 100th line starting with "." and dot lines at the end, under headers that
    /// name <paramref name="subject"/> and carry a Date and a Message-ID (so no client has to add them).
    /// </summary>
    public static byte[] Large(int size, string subject, int seed = 42)
    {
        var large = TestMessages.Large(size, seed);
        var body = large.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        const int LineLength = 76 + 2;
        for (var start = body; start < large.Length; start += 100 * LineLength)
        {
            large[start] = (byte)'.';
        }

        var headers = Encoding.ASCII.GetBytes(
            $"From: Sales <{TestEnvironment.Account}>\r\n" +
            "To: Customer <customer@example.org>\r\n" +
            $"Subject: {subject}\r\n" +
            "Date: Tue, 24 Nov 2026 09:30:00 +0000\r\n" +
            $"Message-ID: <{Guid.NewGuid():N}@emailproxy.test>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=iso-8859-1\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n");
        return [.. headers, .. large.AsSpan(body), .. ".\r\n..\r\n.leading dot\r\n...\r\n"u8];
    }
}
