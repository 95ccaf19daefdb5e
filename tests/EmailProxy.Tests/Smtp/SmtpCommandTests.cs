using EmailProxy.Smtp;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpCommandTests
{
    [Theory]
    [InlineData("EHLO client.example", "EHLO", "client.example")]
    [InlineData("ehlo x", "EHLO", "x")]
    [InlineData("QUIT", "QUIT", "")]
    [InlineData("quit", "QUIT", "")]
    [InlineData("AUTH PLAIN AGZvbwBiYXI=", "AUTH", "PLAIN AGZvbwBiYXI=")]
    [InlineData("MAIL FROM:<a@b> SIZE=100", "MAIL", "FROM:<a@b> SIZE=100")]
    [InlineData("  EHLO client.example  ", "EHLO", "client.example")]
    [InlineData("NOOP   ", "NOOP", "")]
    [InlineData("  RSET", "RSET", "")]
    [InlineData("AUTH   LOGIN  ", "AUTH", "LOGIN")]
    [InlineData("", "", "")]
    [InlineData("   ", "", "")]
    public void Parse_Line_SplitsVerbAndArgument(string line, string verb, string argument)
    {
        var command = SmtpCommand.Parse(line);

        Assert.Equal(verb, command.Verb);
        Assert.Equal(argument, command.Argument);
    }

    [Fact]
    public void Parse_ArgumentCase_IsKept()
    {
        Assert.Equal("Client.Example", SmtpCommand.Parse("helo Client.Example").Argument);
    }

    [Fact]
    public void ToString_AuthWithCredentials_IsVerbOnly()
    {
        var command = SmtpCommand.Parse("AUTH PLAIN AGZvbwBiYXI=");

        Assert.Equal("AUTH", command.ToString());
    }

    [Fact]
    public void ToString_EmptyLine_IsEmpty()
    {
        Assert.Equal("", SmtpCommand.Parse("").ToString());
    }
}
