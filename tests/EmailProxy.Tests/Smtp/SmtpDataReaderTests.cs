using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.Smtp;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpDataReaderTests
{
    private static async Task<(string Content, long Size, string Left)> ReadAsync(IEnumerable<string> pieces, long limit = long.MaxValue)
    {
        var pipe = new Pipe();
        var output = new MemoryStream();
        var reading = SmtpDataReader.ReadAsync(pipe.Reader, (data, _) => { output.Write(data.Span); return ValueTask.CompletedTask; }, limit, CancellationToken.None);
        foreach (var piece in pieces)
        {
            await pipe.Writer.WriteAsync(Encoding.Latin1.GetBytes(piece));
        }
        var size = await reading;
        await pipe.Writer.CompleteAsync();
        var rest = await pipe.Reader.ReadAsync();
        var left = Encoding.Latin1.GetString(rest.Buffer.ToArray());
        return (Encoding.Latin1.GetString(output.ToArray()), size, left);
    }

    [Fact]
    public async Task ReadAsync_StuffedDotsAndPipelinedCommand_UnstuffedEndFoundCommandLeft()
    {
        var (content, size, left) = await ReadAsync(["Subject: x\r\n\r\n..one\r\n...\r\n.\rx\r\nend\r\n.\r\nQUIT\r\n"]);

        Assert.Equal("Subject: x\r\n\r\n.one\r\n..\r\n\rx\r\nend\r\n", content);
        Assert.Equal(content.Length, size);
        Assert.Equal("QUIT\r\n", left);
    }

    [Fact]
    public async Task ReadAsync_EveryByteInItsOwnWrite_SameAsWhole()
    {
        const string data = "a\r\n..b\r\n.\rc\r\n\r\n.\r\n";
        var (whole, _, _) = await ReadAsync([data]);

        var (bytewise, _, left) = await ReadAsync(data.Select(c => c.ToString()));

        Assert.Equal("a\r\n.b\r\n\rc\r\n\r\n", whole);
        Assert.Equal(whole, bytewise);
        Assert.Equal("", left);
    }

    [Fact]
    public async Task ReadAsync_EightBitAndLongLines_Unchanged()
    {
        var line = new string('\u00e9', 20000);
        var (content, _, _) = await ReadAsync([$"{line}\r\n\u00ff\u0000\r\n.\r\n"]);

        Assert.Equal($"{line}\r\n\u00ff\u0000\r\n", content);
    }

    [Fact]
    public async Task ReadAsync_PastTheLimit_SinkStopsSizeCountsWholeEndStillFound()
    {
        var (content, size, left) = await ReadAsync(["0123456789\r\n", "abcdef\r\n.\r\nNOOP\r\n"], limit: 5);

        Assert.Equal("01234", content);
        Assert.Equal(20, size);
        Assert.Equal("NOOP\r\n", left);
    }

    [Fact]
    public async Task ReadAsync_ClientGoneBeforeTheEnd_IOException()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("half a message\r\n"u8.ToArray());
        await pipe.Writer.CompleteAsync();

        await Assert.ThrowsAsync<IOException>(() => SmtpDataReader.ReadAsync(pipe.Reader, (_, _) => ValueTask.CompletedTask, 100, CancellationToken.None));
    }
}
