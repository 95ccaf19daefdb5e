using System.Globalization;
using System.Text;

namespace EmailProxy.Connections;

/// <summary>
/// Text a client chose (a login name, an EHLO argument, a mechanism) on its way into a log line
/// or a reply: control characters (CR and LF among them), Unicode line and paragraph separators
/// bidirectional overrides and undecodable text become <c>?</c>, and it is cut to a length, so that a client can
/// neither inject a line nor flood one.
/// </summary>
internal static class ClientText
{
    /// <summary>What a client-chosen value is cut to unless a caller says otherwise.</summary>
    public const int DefaultMaxLength = 100;

    /// <summary>The marker put where a value was cut.</summary>
    public const char Ellipsis = '…';

    public static string Sanitize(string? text, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var clean = new StringBuilder(Math.Min(text.Length, maxLength + 1));
        var elements = StringInfo.GetTextElementEnumerator(text);
        var count = 0;
        while (elements.MoveNext())
        {
            if (count == maxLength)
            {
                return clean.Append(Ellipsis).ToString();
            }
            var element = (string)elements.Current;
            if (IsSafe(element))
            {
                clean.Append(element);
            }
            else
            {
                clean.Append('?');
            }
            count++;
        }
        return clean.ToString();
    }

    /// <summary>Whether the text would pass <see cref="Sanitize"/> unchanged (no control character, not too long).</summary>
    public static bool IsClean(string text, int maxLength = DefaultMaxLength) => Sanitize(text, maxLength) == text;

    private static bool IsSafe(string element)
    {
        foreach (var rune in element.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned
                || rune == Rune.ReplacementChar || rune.Value is (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069))
            {
                return false;
            }
        }
        return true;
    }
}
