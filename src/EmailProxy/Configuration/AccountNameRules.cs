using System.Buffers;
using System.Globalization;
using System.Text;
using EmailProxy.TokenStore;

namespace EmailProxy.Configuration;

/// <summary>
/// What an account name may be. The name is the login name and names the account's token file
/// (<see cref="TokenFileName.For"/>), so it may not hold a path separator, <c>..</c>, or a control or
/// invisible character (which would also forge log lines), nor be so long that its file name would
/// not fit. Two accounts are refused when they would be confused: when their names differ only by a
/// case folding other than the one logins use (<see cref="string.ToLowerInvariant()"/> folds the
/// Kelvin sign U+212A onto <c>k</c>, while logins compare with
/// <see cref="StringComparison.OrdinalIgnoreCase"/>, which does not), since versions before the fixed
/// file-name mapping gave such accounts one token file, or when their files would share a name.
/// </summary>
internal static class AccountNameRules
{
    /// <summary>
    /// Checks <paramref name="name"/> and records each problem against <paramref name="section"/>,
    /// naming the section of an account it would be confused with among <paramref name="seen"/>.
    /// </summary>
    /// <returns>True when the name may be used; it is then added to <paramref name="seen"/>.</returns>
    public static bool Check(string name, string section, List<(string Name, string Section)> seen, ConfigProblems problems)
    {
        if (Problem(name) is { } problem)
        {
            problems.Error(section, null, null, problem);
            return false;
        }
        foreach (var (otherName, otherSection) in seen)
        {
            if (Conflict(name, otherName) is { } conflict)
            {
                problems.Error(section, null, null, $"cannot be told apart from [{otherSection}]: {conflict}; rename one of them");
                return false;
            }
        }
        seen.Add((name, section));
        return true;
    }

    /// <summary>Why the name cannot be an account's, or null when it can.</summary>
    public static string? Problem(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal))
        {
            return "an account name may not contain '/' or '\\' (it names the account's token file)";
        }
        if (name.Contains("..", StringComparison.Ordinal))
        {
            return "an account name may not contain '..' (it names the account's token file)";
        }
        for (var i = 0; i < name.Length;)
        {
            if (Rune.DecodeFromUtf16(name.AsSpan(i), out var rune, out var used) != OperationStatus.Done)
            {
                return $"an account name must be valid Unicode (an unpaired surrogate at position {i + 1})";
            }
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return $"an account name may not contain control or invisible characters (U+{rune.Value:X4} at position {i + 1})";
            }
            i += used;
        }
        var fileName = TokenFileName.For(name);
        if (fileName.Length > TokenFileName.MaxLength)
        {
            return $"the account name is too long: its token file name would be {fileName.Length} characters, at most {TokenFileName.MaxLength} fit";
        }
        return null;
    }

    /// <summary>
    /// Why two names cannot both be accounts, or null when they can. Names equal under
    /// <see cref="StringComparison.OrdinalIgnoreCase"/> are one account (the reader says so itself).
    /// </summary>
    public static string? Conflict(string name, string other)
    {
        if (string.Equals(name, other, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        // TokenFileName.For folds exactly as OrdinalIgnoreCase compares, so this cannot happen today;
        // it stays as the guard that no change to the mapping can make two accounts share a file.
        if (string.Equals(TokenFileName.For(name), TokenFileName.For(other), StringComparison.Ordinal))
        {
            return "the two names would share one token file";
        }
        if (string.Equals(name.ToLowerInvariant(), other.ToLowerInvariant(), StringComparison.Ordinal))
        {
            return "the two names differ only in case by Unicode's rules (e.g. the Kelvin sign U+212A and the letter k): logins tell them apart, but people and the token files of older versions do not";
        }
        return null;
    }
}
