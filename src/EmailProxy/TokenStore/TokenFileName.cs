using System.Globalization;
using System.Text;

namespace EmailProxy.TokenStore;

/// <summary>
/// The token file's name for an account name, by a fixed mapping: the name's UTF-8 bytes with the
/// ASCII letters lower-cased, every byte outside <c>[a-z0-9@._+-]</c> (and a leading dot) written as
/// <c>%XX</c>. Only ASCII letters are folded, so the mapping depends on no Unicode table and two
/// names share a file only when they differ in ASCII case alone, which the configuration reader
/// treats as one account. Versions before it folded with <see cref="string.ToLowerInvariant()"/>
/// (<see cref="Legacy"/>), under which the Kelvin sign (U+212A) became <c>k</c>, so that two
/// accounts the configuration told apart could share one file; <see cref="TokenFileStore.Open"/>
/// renames those files.
/// </summary>
internal static class TokenFileName
{
    public const string Extension = ".json";

    /// <summary>The longest file name most file systems take (in bytes, ext4 and XFS among them).</summary>
    public const int MaxLength = 255;

    public static string For(string accountName) => Escape(Encoding.UTF8.GetBytes(accountName), foldAsciiOnly: true) + Extension;

    /// <summary>The name the versions before the fixed mapping gave the account's file.</summary>
    public static string Legacy(string accountName) => Escape(Encoding.UTF8.GetBytes(accountName.ToLowerInvariant()), foldAsciiOnly: false) + Extension;

    /// <summary>The name lower-cased in ASCII only: what <see cref="For"/> folds, and what a token file's secrets are bound to.</summary>
    public static string FoldAscii(string accountName) =>
        string.Create(accountName.Length, accountName, static (span, name) =>
        {
            for (var i = 0; i < name.Length; i++)
            {
                span[i] = char.IsAsciiLetterUpper(name[i]) ? (char)(name[i] | 0x20) : name[i];
            }
        });

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
