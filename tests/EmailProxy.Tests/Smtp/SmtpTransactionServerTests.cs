using System.IO.Pipelines;
using System.Text;
using EmailProxy.Graph;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpTransactionServerTests
{
    [Theory]
    [InlineData("FROM:<a@b.example>", "a@b.example", "")]
    [InlineData("from: <a@b.example> SIZE=12 BODY=8BITMIME", "a@b.example", "SIZE=12|BODY=8BITMIME")]
    [InlineData("FROM:<>", "", "")]
    [InlineData("FROM:a@b.example SIZE=1", "a@b.example", "SIZE=1")]
    [InlineData("FROM:<@relay.example:a@b.example>", "a@b.example", "")]
    public void TryPath_MailArguments_AddressAndParameters(string argument, string address, string parameters)
    {
        Assert.True(SmtpTransactionServer.TryPath(argument, "FROM:", out var parsed, out var rest));
        Assert.Equal(address, parsed);
        Assert.Equal(parameters, string.Join('|', rest));
    }

    [Theory]
    [InlineData("TO:<a@b.example>")]
    [InlineData("FROM:<a@b.example")]
    [InlineData("FROM:<a b@example>")]
    public void TryPath_Malformed_False(string argument) =>
        Assert.False(SmtpTransactionServer.TryPath(argument, "FROM:", out _, out _));

    [Theory]
    [InlineData(7, "7 seconds")]
    [InlineData(1, "1 second")]
    [InlineData(60, "1 minute")]
    [InlineData(150, "2 minutes 30 seconds")]
    [InlineData(3900, "1 hour 5 minutes")]
    public void InWords_Waits_Readable(int seconds, string words) =>
        Assert.Equal(words, GraphDelivery.InWords(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task RunAsync_OneMessageThenQuit_CountsTheBytesBothWays()
    {
        var client = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n"u8.ToArray();
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(client);
        var written = new StringBuilder();
        var server = new SmtpTransactionServer(pipe.Reader, (reply, _) =>
        {
            written.Append(reply).Append("\r\n");
            return ValueTask.CompletedTask;
        }, (_, _, _) => Task.FromResult("250 2.0.0 OK"), TimeProvider.System);

        var result = await server.RunAsync(CancellationToken.None).Guarded();

        Assert.Equal("served through Microsoft Graph, 1 message sent, ended by QUIT", result);
        Assert.Equal(client.Length, server.BytesFromClient);
        Assert.Equal(Encoding.UTF8.GetByteCount(written.ToString()), server.BytesToClient);
    }
}
