using System.Security.Cryptography;
using System.Text;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// Comparing what a client stored with what Dovecot keeps: sha256 of the bytes, of their Unix form (CRLF made LF, as
/// clients that store mail in Unix files keep it), and without the header fields a client adds on its own.
/// </summary>
internal static class MailFiles
{
    /// <summary>sha256 as lower-case hex; <paramref name="lineFeeds"/>: of the bytes with every CRLF made LF.</summary>
    public static string Digest(byte[] bytes, bool lineFeeds) => Convert.ToHexStringLower(SHA256.HashData(lineFeeds ? LineFeeds(bytes) : bytes));

    public static byte[] LineFeeds(byte[] bytes) => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(bytes).Replace("\r\n", "\n", StringComparison.Ordinal));

    /// <summary>The message without the header fields named (one line each, as clients add them), the body untouched.</summary>
    public static byte[] WithoutHeaderFields(byte[] message, params string[] names)
    {
        var text = Encoding.Latin1.GetString(message);
        // Where the last header line's LF is, in the Unix form or with CRLF.
        var lf = text.IndexOf("\n\n", StringComparison.Ordinal);
        var crlf = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 1 : lf;
        var header = text[..(end + 1)];
        var kept = string.Concat(header.Split('\n').SkipLast(1)
            .Where(line => !names.Any(name => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)))
            .Select(line => line + "\n"));
        return Encoding.Latin1.GetBytes(kept + text[(end + 1)..]);
    }

    /// <summary>The sha256 of every file in a folder and in its cur/ and new/ (a maildir), in order, each <paramref name="transform"/>ed first.</summary>
    public static string[] Digests(string folder, Func<byte[], byte[]>? transform = null) =>
        [.. new[] { folder, Path.Combine(folder, "cur"), Path.Combine(folder, "new") }
            .Where(Directory.Exists)
            .SelectMany(Directory.GetFiles)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Select(f => Digest((transform ?? (b => b))(File.ReadAllBytes(f)), lineFeeds: false))
            .Order(StringComparer.Ordinal)];
}
