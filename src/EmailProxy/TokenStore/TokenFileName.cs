using System.Globalization;
using System.Text;

namespace EmailProxy.TokenStore;

/// <summary>
/// The token file's name for an account name, by a fixed mapping: the name folded as the
/// configuration compares account names (<see cref="Fold"/>: the simple upper-case mapping that
/// <see cref="StringComparer.OrdinalIgnoreCase"/> uses, then ASCII letters lower-cased for readable
/// names), as UTF-8, every byte outside <c>[a-z0-9@._+-]</c> (and a leading dot) written as
/// <c>%XX</c>. So two names share a file exactly when the configuration takes them for one account
/// (<c>Élodie</c> and <c>élodie</c>, written in another case after an edit, keep their tokens),
/// and names it tells apart never do. Versions before it folded with <see cref="string.ToLowerInvariant()"/>
/// (<see cref="Legacy"/>), under which the Kelvin sign (U+212A) became <c>k</c>, so that two
/// accounts the configuration told apart could share one file; <see cref="TokenFileStore.Open"/>
/// renames those files.
/// </summary>
internal static class TokenFileName
{
    public const string Extension = ".json";

    /// <summary>The longest file name most file systems take (in bytes, ext4 and XFS among them).</summary>
    public const int MaxLength = 255;

    public static string For(string accountName) => Escape(Encoding.UTF8.GetBytes(Fold(accountName)), foldAsciiOnly: true) + Extension;

    /// <summary>The name the versions before the fixed mapping gave the account's file.</summary>
    public static string Legacy(string accountName) => Escape(Encoding.UTF8.GetBytes(accountName.ToLowerInvariant()), foldAsciiOnly: false) + Extension;

    /// <summary>
    /// The name as <see cref="For"/> folds it, and what a token file's secrets are bound to: every
    /// character to its invariant upper case (the mapping <see cref="StringComparer.OrdinalIgnoreCase"/>
    /// compares by, so names equal under it fold alike and others do not: the Kelvin sign stays
    /// itself), then the ASCII letters to lower case, so that an ASCII name folds as it always has.
    /// </summary>
    public static string Fold(string accountName)
    {
        var upper = accountName.ToUpperInvariant();
        return string.Create(upper.Length, upper, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                span[i] = char.IsAsciiLetterUpper(text[i]) ? (char)(text[i] | 0x20) : text[i];
            }
        });
    }

    private static string Escape(byte[] utf8, bool foldAsciiOnly)
    {
        var safe = new StringBuilder(utf8.Length);
        foreach (var b in utf8)
        {
            var c = (char)b;
            if (foldAsciiOnly && char.IsAsciiLetterUpper(c))
            {
                c = (char)(c | 0x20);
            }
            if (b < 0x80 && (char.IsAsciiLetterOrDigit(c) || c is '@' or '.' or '-' or '_' or '+') && !(safe.Length == 0 && c == '.'))
            {
                safe.Append(c);
            }
            else
            {
                safe.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return safe.ToString();
    }
}
