using System.Globalization;
using EmailProxy.Storage;
using EmailProxy.TokenStore;

namespace EmailProxy.Graph;

/// <summary>
/// The mark an <c>smtp_via = auto</c> account's switch to Graph leaves beside its token file
/// (<c>{token file}.graph</c>, 0600): when it happened and Exchange's words, no secret. A restart keeps
/// the switch (no refused SMTP login to find it out again), and <c>emailproxy tokens show</c>, which
/// runs without the proxy, can tell it. Setting <c>smtp_via</c> to <c>smtp</c> or <c>graph</c> makes it
/// moot; deleting the file makes an <c>auto</c> account try SMTP again.
/// </summary>
internal static class GraphSwitchFile
{
    public const string Suffix = ".graph";

    public static string PathFor(string tokenDirectory, string account) => Path.Combine(tokenDirectory, TokenFileName.For(account) + Suffix);

    /// <summary>When the account switched and why, or null when it has not (or the mark cannot be read).</summary>
    public static (DateTimeOffset At, string Reason)? Read(string tokenDirectory, string account)
    {
        try
        {
            var lines = File.ReadAllLines(PathFor(tokenDirectory, account));
            return lines.Length >= 1 && DateTimeOffset.TryParse(lines[0], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
                ? (at, lines.Length > 1 ? lines[1] : "")
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Leaves the mark; false when it could not be written (the switch then lasts until the process ends).</summary>
    public static bool Write(string tokenDirectory, string account, DateTimeOffset at, string reason)
    {
        try
        {
            PrivateFile.WriteText(PathFor(tokenDirectory, account), $"{at.ToString("O", CultureInfo.InvariantCulture)}\n{reason.ReplaceLineEndings(" ")}\n");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
