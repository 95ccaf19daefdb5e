using System.Net;
using System.Net.Sockets;
using EmailProxy.Configuration;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Upstream;

/// <summary>The options of the sockets the connector opens to upstream servers.</summary>
public sealed class UpstreamConnectorSocketTests
{
    [Fact]
    public async Task ConnectAsync_Plaintext_SocketHasNoDelayAndKeepAlive()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var connector = new UpstreamConnector(TimeProvider.System);

        await using var connection = await connector.ConnectAsync(new ServerOptions("test"), "127.0.0.1", port, implicitTls: false, CancellationToken.None);
        using var accepted = await listener.AcceptAsync();

        var socket = Assert.IsType<Socket>(connection.Socket);
        Assert.True(socket.NoDelay);
        Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal((int)UpstreamConnector.KeepAliveIdle.TotalSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal((int)UpstreamConnector.KeepAliveInterval.TotalSeconds, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(UpstreamConnector.KeepAliveProbes, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
    }
}
