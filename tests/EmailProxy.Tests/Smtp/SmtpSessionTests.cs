using System.Text;
using EmailProxy.Smtp;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpSessionTests
{
    private const string SignInUrl = "http://127.0.0.1:18089/accounts/sales%40example.com/signin";

    /// <summary>A 1,000-character message of short words whose sign-in URL straddles the 400th character.</summary>
    private static string LongMessage()
    {
        var head = string.Join(" ", Enumerable.Repeat("abcdefghi", 38)); // 379 characters
        var tail = string.Join(" ", Enumerable.Repeat("jklmnopq", 100));
        var text = $"{head} {SignInUrl} {tail}"[..1000];
        Assert.True(text.IndexOf(SignInUrl, StringComparison.Ordinal) < 400);
        Assert.True(text.IndexOf(SignInUrl, StringComparison.Ordinal) + SignInUrl.Length > 400);
        return text;
    }

    [Fact]
    public void MultiLine_ShortText_IsOneLine()
    {
        Assert.Equal("535 5.7.8 text", SmtpSession.MultiLine(535, "5.7.8", ["text"]));
    }

    [Fact]
    public void MultiLine_NullEnhanced_HasNoEnhancedCode()
    {
        Assert.Equal("454 text", SmtpSession.MultiLine(454, null, ["text"]));
    }

    [Fact]
    public void MultiLine_SeveralTexts_IsEhloForm()
    {
        Assert.Equal("250-a\r\n250-b\r\n250 c", SmtpSession.MultiLine(250, null, ["a", "b", "c"]));
    }

    [Fact]
    public void MultiLine_TextOfExactly400Characters_IsOneLine()
    {
        var text = string.Join(" ", Enumerable.Repeat("abcdefghi", 40))[..399] + "x";

        Assert.Equal("535 5.7.8 " + text, SmtpSession.MultiLine(535, "5.7.8", [text]));
    }

    [Fact]
    public void MultiLine_LongMessage_SplitsIntoContinuationLinesEndingWithFinalLine()
    {
        var lines = SmtpSession.MultiLine(535, "5.7.8", [LongMessage()]).Split("\r\n");

        Assert.True(lines.Length >= 3, $"{lines.Length} lines");
        Assert.All(lines[..^1], line => Assert.StartsWith("535-5.7.8 ", line));
        Assert.StartsWith("535 5.7.8 ", lines[^1]);
        Assert.All(lines, line => Assert.InRange(line.Length - "535 5.7.8 ".Length, 1, 400));
        Assert.All(lines, line => Assert.InRange(Encoding.UTF8.GetByteCount(line + "\r\n"), 1, 512));
    }

    [Fact]
    public void MultiLine_LongMessage_KeepsUrlWholeOnOneLine()
    {
        var lines = SmtpSession.MultiLine(535, "5.7.8", [LongMessage()]).Split("\r\n");

        var holding = lines.Where(line => line.Contains(SignInUrl, StringComparison.Ordinal)).ToArray();
        Assert.Single(holding);
        Assert.Equal(lines[1], holding[0]);
        Assert.StartsWith("535-5.7.8 " + SignInUrl + " ", lines[1]);
        Assert.DoesNotContain("http", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void MultiLine_LongMessage_PiecesJoinedWithSpacesEqualInput()
    {
        var message = LongMessage();

        var lines = SmtpSession.MultiLine(535, "5.7.8", [message]).Split("\r\n");

        Assert.Equal(message, string.Join(" ", lines.Select(line => line["535 5.7.8 ".Length..])));
    }

    [Fact]
    public void MultiLine_LongMessageWithoutEnhancedCode_SplitsWithCodeOnly()
    {
        var message = LongMessage();

        var lines = SmtpSession.MultiLine(454, null, [message]).Split("\r\n");

        Assert.True(lines.Length >= 3);
        Assert.All(lines[..^1], line => Assert.StartsWith("454-", line));
        Assert.StartsWith("454 ", lines[^1]);
        Assert.Equal(message, string.Join(" ", lines.Select(line => line[4..])));
    }
}
