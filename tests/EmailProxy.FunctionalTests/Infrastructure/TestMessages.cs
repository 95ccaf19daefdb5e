using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>Messages for byte-exact comparisons: CRLF lines with 8-bit text, reproducible.</summary>
internal static class TestMessages
{
    public static byte[] Large(int size, int seed = 42)
    {
        var random = new Random(seed);
        var message = new MemoryStream(size + 1024);
        message.Write("From: Sender <sender@example.org>\r\nTo: user@example.com\r\nSubject: large 8-bit message\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"u8);
        var line = new byte[76];
        while (message.Length < size)
        {
            for (var i = 0; i < line.Length; i++)
            {
                // Printable ASCII and Latin-1 letters: 8-bit, no NUL, no bare CR or LF.
                line[i] = random.Next(4) == 0 ? (byte)random.Next(0xC0, 0x100) : (byte)random.Next(0x20, 0x7F);
            }
            message.Write(line);
            message.Write("\r\n"u8);
        }
        return message.ToArray();
    }

    public static string Ascii(byte[] bytes) => Encoding.Latin1.GetString(bytes);
}
