using System.Text;

namespace EmailProxy.Tests.Connections;

/// <summary>The bad input of issue 11 that every front is tried with.</summary>
internal static class HostileInput
{
    /// <summary>Bytes of no protocol, the same every run.</summary>
    public static byte[] RandomBytes(int length = 64 * 1024)
    {
        var bytes = new byte[length];
        new Random(11).NextBytes(bytes);
        // Never a TLS record's first byte: that is a case of its own.
        bytes[0] = (byte)'x';
        return bytes;
    }

    /// <summary>The start of a TLS 1.2/1.3 ClientHello as a client sends it on connecting: record, handshake header, random, cipher suites.</summary>
    public static byte[] TlsClientHello()
    {
        var hello = new List<byte> { 0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc, 0x03, 0x03 };
        var random = new byte[32 + 220];
        new Random(7).NextBytes(random);
        random[40] = (byte)'\n';
        hello.AddRange(random);
        return [.. hello];
    }

    /// <summary>A line of 1 MiB (and its CRLF) after <paramref name="prefix"/>.</summary>
    public static string MegabyteLine(string prefix) => prefix + new string('a', 1024 * 1024) + "\r\n";

    /// <summary>What a browser sends when a web page posts a form of mail commands to a mail port.</summary>
    public static string HttpPost(int port, string body) =>
        $"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    /// <summary>An AUTH PLAIN response of about 100 KB (a valid base64 blob).</summary>
    public static string HugeSaslResponse() => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0user\0" + new string('p', 75 * 1024)));

    /// <summary>A login name that would inject a line into a reply and a log line if echoed as it is.</summary>
    public const string InjectingName = "x\r\n* OK [ALERT] pwned\r250 ok\u001b[31m\u0085";

    /// <summary>True when every CR in <paramref name="raw"/> is the start of a CRLF, and no line is an injected one.</summary>
    public static bool HasNoInjectedLine(string raw) =>
        !raw.Replace("\r\n", "\n", StringComparison.Ordinal).Contains('\r', StringComparison.Ordinal)
        && !raw.Contains("\n* OK [ALERT]", StringComparison.Ordinal) && !raw.Contains("\n250 ok", StringComparison.Ordinal)
        && !raw.Contains('\u001b', StringComparison.Ordinal) && !raw.Contains('\u0085', StringComparison.Ordinal);
}
