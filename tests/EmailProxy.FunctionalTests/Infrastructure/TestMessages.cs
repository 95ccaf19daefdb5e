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

    /// <summary>
    /// A message of at least <paramref name="size"/> bytes to <paramref name="to"/> whose body is CRLF lines of any
    /// bytes but CR and LF (1 to 998 of them, reproducible), with lines that start with "." (a lone ".", "..",
    /// ".text") at the start, every 100th line, and last: what dot-stuffing and literals must carry unchanged.
    /// </summary>
    public static byte[] AnyBytesWithDotLines(int size, string to)
    {
        var output = new MemoryStream(size + 1024);
        output.Write(Encoding.ASCII.GetBytes(
            $"From: Sender <sender@example.com>\r\nTo: {to}\r\nSubject: Large 8-bit message\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"));
        output.Write(".\r\n..\r\n.leading dot\r\n"u8);
        var random = new Random(20240611);
        var line = new byte[998];
        var written = 0;
        while (output.Length < size)
        {
            var length = random.Next(1, line.Length + 1);
            for (var i = 0; i < length; i++)
            {
                byte value;
                do
                {
                    value = (byte)random.Next(1, 256);
                }
                while (value is (byte)'\r' or (byte)'\n');
                line[i] = value;
            }

            if (++written % 100 == 0)
            {
                line[0] = (byte)'.';
            }

            output.Write(line, 0, length);
            output.Write("\r\n"u8);
        }

        output.Write("...\r\n.\r\n"u8);
        return output.ToArray();
    }

    /// <summary>Everything left in <paramref name="stream"/> (a message as a client library hands it over).</summary>
    public static byte[] ReadAll(Stream stream)
    {
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static string Ascii(byte[] bytes) => Encoding.Latin1.GetString(bytes);
}
