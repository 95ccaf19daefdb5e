using System.Net;
using EmailProxy.Configuration;

namespace EmailProxy.Tests.Configuration;

public sealed class WebListenAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:18089", "127.0.0.1", 18089)]
    [InlineData("http://127.0.0.2:18089/callback", "127.0.0.2", 18089)]
    [InlineData("http://[::1]:1234", "::1", 1234)]
    [InlineData("http://192.168.1.20:18089", "192.168.1.20", 18089)]
    public void Of_RedirectUriWithAnAddress_BindsThatAddress(string redirectUri, string address, int port)
    {
        var web = WebListenAddress.Of(new GeneralOptions { RedirectUri = new Uri(redirectUri) });

        Assert.Equal(new WebListenAddress(IPAddress.Parse(address), port, FromHostName: false), web);
    }

    [Fact]
    public void Of_RedirectUriOnLocalhost_BindsBothLoopbacks()
    {
        var web = WebListenAddress.Of(new GeneralOptions { RedirectUri = new Uri("http://LocalHost:18089") });

        Assert.Null(web.Address);
        Assert.Equal(18089, web.Port);
        Assert.True(web.IsLoopback);
        Assert.False(web.FromHostName);
    }

    [Theory]
    [InlineData("http://mail-proxy:18089", 18089)]
    [InlineData("http://proxy.example.com/", 80)]
    [InlineData("https://proxy.example.com/callback", 443)]
    public void Of_RedirectUriOnAnotherName_BindsLoopbackOnlyAndSaysSo(string redirectUri, int port)
    {
        var web = WebListenAddress.Of(new GeneralOptions { RedirectUri = new Uri(redirectUri) });

        Assert.Equal(new WebListenAddress(IPAddress.Loopback, port, FromHostName: true), web);
        Assert.True(web.IsLoopback);
    }

    [Theory]
    [InlineData("0.0.0.0", false)]
    [InlineData("::", false)]
    [InlineData("127.0.0.1", true)]
    public void Of_WebListenSet_WinsOverTheRedirectUri(string address, bool loopback)
    {
        var web = WebListenAddress.Of(new GeneralOptions
        {
            RedirectUri = new Uri("http://mail-proxy:18089"),
            WebListen = new IPEndPoint(IPAddress.Parse(address), 8080),
        });

        Assert.Equal(new WebListenAddress(IPAddress.Parse(address), 8080, FromHostName: false), web);
        Assert.Equal(loopback, web.IsLoopback);
    }
}
