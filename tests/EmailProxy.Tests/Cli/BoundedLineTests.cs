using EmailProxy.Cli;

namespace EmailProxy.Tests.Cli;

/// <summary>The pasted line of <c>emailproxy auth</c>: read up to a limit, never waiting for the end of a line longer than any address.</summary>
public sealed class BoundedLineTests
{
    [Fact]
    public void ReadBoundedLine_Lines_EachWithoutItsLineEnd()
    {
        using var reader = new StringReader("first\r\nsecond\nlast");
        Assert.Equal("first", AuthCommand.ReadBoundedLine(reader, 100));
        Assert.Equal("second", AuthCommand.ReadBoundedLine(reader, 100));
        Assert.Equal("last", AuthCommand.ReadBoundedLine(reader, 100));
        Assert.Null(AuthCommand.ReadBoundedLine(reader, 100));
    }

    [Fact]
    public void ReadBoundedLine_LongerThanTheLimit_ReturnsOneCharacterMoreWithoutReadingFurther()
    {
        using var reader = new StringReader(new string('A', 50) + "\nnext");

        var line = AuthCommand.ReadBoundedLine(reader, 10);

        Assert.Equal(11, line!.Length);
        Assert.Equal('A', (char)reader.Peek());
    }
}
