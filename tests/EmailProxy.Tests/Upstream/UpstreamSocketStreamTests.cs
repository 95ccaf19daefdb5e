using System.Net;
using System.Net.Sockets;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Upstream;

/// <summary>The upstream socket's read-ahead stream over a real loopback connection.</summary>
public sealed class UpstreamSocketStreamTests : IDisposable
{
    private readonly Socket _server;
    private readonly UpstreamSocketStream _stream;

    public UpstreamSocketStreamTests()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        _server = listener.Accept();
        _stream = new UpstreamSocketStream(client);
    }

    [Fact]
    public async Task ReadAsync_NothingToRead_WaitsHoldingNoBuffer()
    {
        var buffer = new byte[16 * 1024];
        var read = _stream.ReadAsync(buffer).AsTask();

        Assert.False(read.IsCompleted);
        Assert.False(_stream.HoldsBuffer, "an idle read holds no read-ahead buffer");
        Assert.False(_stream.DataAvailable);

        _server.Send("* OK\r\n"u8);
        Assert.Equal(6, await read.Guarded());
        Assert.Equal("* OK\r\n"u8.ToArray(), buffer[..6]);
        Assert.False(_stream.HoldsBuffer);
    }

    [Fact]
    public async Task ReadAsync_MoreWaitingThanAsked_HandsTheRestOnFromMemoryThenReturnsTheBuffer()
    {
        var message = new byte[200 * 1024];
        new Random(5).NextBytes(message);
        var send = Task.Run(() => _server.Send(message));

        var received = new List<byte>(message.Length);
        var buffer = new byte[5000];
        var fromMemory = false;
        while (received.Count < message.Length)
        {
            var read = await _stream.ReadAsync(buffer).AsTask().Guarded();
            Assert.True(read > 0);
            received.AddRange(buffer[..read]);
            fromMemory |= _stream.HoldsBuffer;
        }
        await send.Guarded();

        Assert.Equal(message, received.ToArray());
        Assert.True(fromMemory, "reads of 5,000 bytes were served from a larger read ahead");
        Assert.False(_stream.HoldsBuffer, "the read-ahead buffer went back once it was empty");
        Assert.False(_stream.DataAvailable);
    }

    [Fact]
    public async Task ReadAsync_ZeroBytesWhileDataWaits_ReturnsAtOnceAndTheDataStays()
    {
        _server.Send("abc"u8);
        var buffer = new byte[3];
        Assert.Equal(1, await _stream.ReadAsync(buffer.AsMemory(0, 1)).AsTask().Guarded());
        Assert.True(_stream.DataAvailable);

        var zero = _stream.ReadAsync(Memory<byte>.Empty);
        Assert.True(zero.IsCompleted, "a zero-byte read with data waiting does not wait");
        Assert.Equal(0, await zero);
        Assert.Equal(2, await _stream.ReadAsync(buffer.AsMemory(1)).AsTask().Guarded());
        Assert.Equal("abc"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task ReadAsync_ServerCloses_ReturnsZero()
    {
        _server.Send("bye"u8);
        _server.Shutdown(SocketShutdown.Send);
        var buffer = new byte[16];
        Assert.Equal(3, await _stream.ReadAsync(buffer).AsTask().Guarded());
        Assert.Equal(0, await _stream.ReadAsync(buffer).AsTask().Guarded());
    }

    public void Dispose()
    {
        _stream.Dispose();
        _server.Dispose();
    }
}
