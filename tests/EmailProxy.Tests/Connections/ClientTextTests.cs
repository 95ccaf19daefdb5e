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
    public void Sanitize_Null_IsEmpty() => Assert.Equal("", ClientText.Sanitize(null));

    [Fact]
    public void Sanitize_LoneSurrogate_IsReplaced() => Assert.Equal("a?b", ClientText.Sanitize("a\ud800b"));

    [Fact]
    public void IsClean_ValueWithNewline_IsFalse()
    {
        Assert.False(ClientText.IsClean("a\nb"));
        Assert.True(ClientText.IsClean("ab"));
    }
}
