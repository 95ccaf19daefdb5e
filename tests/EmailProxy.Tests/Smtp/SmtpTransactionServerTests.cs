using EmailProxy.Graph;
using EmailProxy.Smtp;

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
}
