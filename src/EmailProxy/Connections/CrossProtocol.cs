using System.Text;

namespace EmailProxy.Connections;

/// <summary>
/// Recognises a line that belongs to an HTTP request: a web page can make a browser send one to a
/// mail port (<c>fetch("http://127.0.0.1:1587/", {method: "POST", body: …})</c>), and its body's
/// lines must never run as mail commands. As Postfix and Dovecot do, a session that sees such a
/// line before login closes at once.
/// </summary>
internal static class CrossProtocol
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "CONNECT", "TRACE"];

    private static readonly string[] Headers =
    [
        "host:", "content-type:", "content-length:", "user-agent:", "origin:", "referer:", "accept:", "accept-encoding:",
        "accept-language:", "connection:", "cookie:", "sec-fetch-mode:", "sec-fetch-site:", "upgrade-insecure-requests:",
        "transfer-encoding:", "cache-control:", "pragma:",
    ];

    /// <summary>The text every front closes with after such a line (with its protocol's prefix).</summary>
    public const string Refusal = "This is a mail port, not a web server; closing";

    /// <summary>
    /// True for an HTTP request line (<c>METHOD SP target …</c> with a known method, or any
    /// <c>WORD /path HTTP/1.x</c>) and for a header line browsers send (<c>Host:</c>,
    /// <c>Content-Type:</c>, …). Matching is on the line's start, case-insensitive for headers.
    /// </summary>
    public static bool LooksLikeHttp(ReadOnlySpan<byte> line)
    {
        foreach (var method in Methods)
        {
            if (line.Length > method.Length && line[method.Length] == (byte)' ' && StartsWith(line, method, ignoreCase: false))
            {
                return true;
            }
        }
        if (EndsWithHttpVersion(line))
        {
            return true;
        }
        foreach (var header in Headers)
        {
            if (StartsWith(line, header, ignoreCase: true))
            {
                return true;
            }
        }
        return false;
    }

    public static bool LooksLikeHttp(string line) => LooksLikeHttp(Encoding.UTF8.GetBytes(line));

    private static bool EndsWithHttpVersion(ReadOnlySpan<byte> line)
    {
        // "METHOD /path HTTP/1.1" with a method not listed above: three words, a path or URL, a version.
        var first = line.IndexOf((byte)' ');
        var last = line.LastIndexOf((byte)' ');
        if (first <= 0 || last <= first + 1)
        {
            return false;
        }
        var target = line[(first + 1)..last];
        var version = line[(last + 1)..];
        return target.IndexOf((byte)' ') < 0 && (target[0] == (byte)'/' || StartsWith(target, "http", ignoreCase: true))
            && version.Length is >= 6 and <= 8 && StartsWith(version, "HTTP/", ignoreCase: false) && char.IsAsciiDigit((char)version[5]);
    }

    private static bool StartsWith(ReadOnlySpan<byte> line, string prefix, bool ignoreCase)
    {
        if (line.Length < prefix.Length)
        {
            return false;
        }
        for (var i = 0; i < prefix.Length; i++)
        {
            var c = (char)line[i];
            if (ignoreCase ? char.ToLowerInvariant(c) != prefix[i] : c != prefix[i])
            {
                return false;
            }
        }
        return true;
    }
}
