using System.Globalization;

namespace EmailProxy.Smtp;

/// <summary>
/// One SMTP reply, possibly multi-line (<c>250-…</c> lines ending with <c>250 …</c>): its code,
/// its enhanced status code when the server gives one (<c>5.7.139</c>), and its text lines.
/// </summary>
internal sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    public bool IsPositive => Code is >= 200 and < 400;

    /// <summary>The text without codes, lines joined by a space.</summary>
    public string Text => string.Join(" ", Lines.Select(StripEnhanced));

    public string? EnhancedCode => Lines.Count == 0 ? null : EnhancedOf(Lines[0]);

    /// <summary>"535 5.7.3 Authentication unsuccessful" as one line for error texts.</summary>
    public override string ToString() => $"{Code} {string.Join(" ", Lines)}".TrimEnd();

    public bool HasExtension(string keyword) =>
        Lines.Skip(1).Any(line => line.Split(' ', 2)[0].Equals(keyword, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Feeds one received line; returns true when it ended the reply. Throws <see cref="FormatException"/>
    /// for a line that is not an SMTP reply line or whose code differs from the reply's.
    /// </summary>
    public static bool TryParseLine(string line, ref int code, List<string> lines)
    {
        if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var lineCode) || lineCode < 200 || lineCode > 599)
        {
            throw new FormatException($"not an SMTP reply: {(line.Length > 80 ? line[..80] + "…" : line)}");
        }
        if (code != 0 && lineCode != code)
        {
            throw new FormatException($"reply code changed from {code} to {lineCode} within one reply");
        }
        code = lineCode;
        var separator = line.Length > 3 ? line[3] : ' ';
        if (separator is not (' ' or '-'))
        {
            throw new FormatException($"not an SMTP reply: {line}");
        }
        lines.Add(line.Length > 4 ? line[4..] : "");
        return separator == ' ';
    }

    private static string StripEnhanced(string line)
    {
        var enhanced = EnhancedOf(line);
        return enhanced is null ? line : line[enhanced.Length..].TrimStart();
    }

    private static string? EnhancedOf(string line)
    {
        var end = line.IndexOf(' ');
        var candidate = end < 0 ? line : line[..end];
        var parts = candidate.Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5" && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit))
            ? candidate
            : null;
    }
}
