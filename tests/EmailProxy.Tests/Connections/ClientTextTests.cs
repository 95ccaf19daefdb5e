using EmailProxy.Connections;

namespace EmailProxy.Tests.Connections;

public sealed class ClientTextTests
{
    [Theory]
    [InlineData("user@example.com", "user@example.com")]
    [InlineData("a\r\n* OK [ALERT] forged", "a?* OK [ALERT] forged")]
    [InlineData("a\rb\nc", "a?b?c")]
    [InlineData("tab\there", "tab?here")]
    [InlineData("nul\0x", "nul?x")]
    [InlineData("del\u007fx", "del?x")]
    [InlineData("c1\u0085x", "c1?x")]
    [InlineData("ls\u2028ps\u2029x", "ls?ps?x")]
    [InlineData("bidi\u202Eevil", "bidi?evil")]
    [InlineData("isolate\u2066x", "isolate?x")]
    [InlineData("zero\u200Bwidth\u200E\uFEFFx", "zero?width??x")]
    [InlineData("arabic\u061Cmark", "arabic?mark")]
    [InlineData("José Müller", "José Müller")]
    [InlineData("", "")]
    public void Sanitize_ControlCharacters_BecomeQuestionMarks(string input, string expected) =>
        Assert.Equal(expected, ClientText.Sanitize(input));

    [Fact]
    public void Sanitize_LongValue_IsCutWithAnEllipsis()
    {
        var cut = ClientText.Sanitize(new string('x', 10_000));
        Assert.Equal(new string('x', ClientText.DefaultMaxLength) + ClientText.Ellipsis, cut);
    }

    [Fact]
    public void Sanitize_LetterWithThousandsOfCombiningMarks_IsOneQuestionMark()
    {
        var piled = "a" + new string('\u0301', 8000) + "b";

        Assert.Equal("?b", ClientText.Sanitize(piled));
    }

    [Fact]
    public void Sanitize_ManyLongCharacters_IsCutByUtf16LengthToo()
    {
        // 100 letters with 7 accents each: 100 characters as a reader counts them, 800 UTF-16 units.
        var accented = string.Concat(Enumerable.Repeat("e" + new string('\u0301', 7), 100));

        var cut = ClientText.Sanitize(accented);

        Assert.Equal((4 * ClientText.DefaultMaxLength) + 1, cut.Length);
        Assert.EndsWith(ClientText.Ellipsis.ToString(), cut, StringComparison.Ordinal);
    }

    [Fact]
    public void Sanitize_Null_IsEmpty() => Assert.Equal("", ClientText.Sanitize(null));

    [Fact]
    public void Sanitize_LoneSurrogate_IsReplaced() => Assert.Equal("a?b", ClientText.Sanitize("a\ud800b"));

}
