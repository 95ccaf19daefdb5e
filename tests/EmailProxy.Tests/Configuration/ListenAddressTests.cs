using System.Net;
using EmailProxy.Configuration;

namespace EmailProxy.Tests.Configuration;

public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:1993", "127.0.0.1", 1993)]
    [InlineData("[::1]:1993", "::1", 1993)]
    [InlineData("localhost:1", "127.0.0.1", 1)]
    [InlineData("LOCALHOST:143", "127.0.0.1", 143)]
    [InlineData("*:25", "0.0.0.0", 25)]
    [InlineData("0.0.0.0:65535", "0.0.0.0", 65535)]
    [InlineData("[::]:993", "::", 993)]
    [InlineData("192.168.1.20:1587", "192.168.1.20", 1587)]
    public void TryParse_ValidAddress_ReturnsEndPoint(string text, string address, int port)
    {
        Assert.True(ListenAddress.TryParse(text, out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1993")]
    [InlineData(":1993")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:abc")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("127.0.0.1:+25")]
    [InlineData("127.0.0.1: 25")]
    [InlineData("127.0.0.1:99999999999")]
    [InlineData("mail.example.com:25")]
    [InlineData("1.2.3.4.5:25")]
    [InlineData("[::1:1993")]
    public void TryParse_InvalidAddress_ReturnsFalse(string text)
    {
        Assert.False(ListenAddress.TryParse(text, out _));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.1.2.3", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:127.9.9.9", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("::", false)]
    [InlineData("192.168.1.20", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("::ffff:192.168.1.20", false)]
    [InlineData("::ffff:0.0.0.0", false)]
    [InlineData("fe80::1", false)]
    [InlineData("128.0.0.1", false)]
    public void IsLoopback_Address_OnlyThisMachineCanReachIt(string address, bool loopback)
    {
        Assert.Equal(loopback, ListenAddress.IsLoopback(IPAddress.Parse(address)));
    }
}
