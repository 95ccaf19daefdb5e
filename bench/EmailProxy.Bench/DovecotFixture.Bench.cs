using System.Net;
using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>The bench's part of the linked <see cref="DovecotFixture"/>: any free port (the tests use a range of their own).</summary>
public sealed partial class DovecotFixture
{
    private static partial int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
