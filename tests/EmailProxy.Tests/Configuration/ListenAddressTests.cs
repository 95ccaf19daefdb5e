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
}
