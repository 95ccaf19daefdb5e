using System.Globalization;
using System.Text;

namespace EmailProxy.Connections;

/// <summary>
/// Text a client chose (a login name, an EHLO argument, a mechanism) on its way into a log line
/// or a reply: control characters (CR and LF among them), Unicode line and paragraph separators,
/// format characters (bidirectional overrides and isolates, zero-width characters), undecodable
/// text, and a character carrying more than a few combining marks become <c>?</c>; the value is
/// cut to a number of characters as a reader counts them, and to four UTF-16 units for each of
/// those, so that a client can neither inject a line nor flood one.
/// </summary>
internal static class ClientText
{
    /// <summary>What a client-chosen value is cut to unless a caller says otherwise.</summary>
    public const int DefaultMaxLength = 100;

    /// <summary>The marker put where a value was cut.</summary>
    public const char Ellipsis = '…';

    /// <summary>A character (with its combining marks) longer than this in UTF-16 units is shown as <c>?</c>: an emoji sequence fits, a pile of marks does not.</summary>
    public const int MaxElementLength = 16;

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
            var element = (string)elements.Current;
            if (count == maxLength || clean.Length + Math.Min(element.Length, MaxElementLength) > 4 * maxLength)
            {
                return clean.Append(Ellipsis).ToString();
            }
            if (element.Length <= MaxElementLength && IsSafe(element))
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

    private static bool IsSafe(string element)
    {
        foreach (var rune in element.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned
                || rune == Rune.ReplacementChar)
            {
                return false;
            }
        }
        return true;
    }
}
