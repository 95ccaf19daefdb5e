using System.Buffers;
using System.Net.Sockets;

namespace EmailProxy.Upstream;

/// <summary>
/// The upstream socket as the stream under the upstream's <see cref="System.Net.Security.SslStream"/>, reading ahead:
/// a read takes what the kernel holds, up to 64 KiB, in one <c>recv</c> into a pooled buffer, and the TLS records in
/// it are handed to SslStream from memory; SslStream's zero-byte read before each record is answered at once while
/// data is there. Only when the socket has nothing to read does a read wait, with a zero-byte receive and no buffer,
/// so an idle session holds no read buffer here; the read-ahead buffer goes back to the pool as soon as it is empty.
/// One reader at a time (as SslStream reads); writes go straight to the socket.
/// </summary>
internal sealed class UpstreamSocketStream(Socket socket) : Stream
{
    /// <summary>The most one receive takes: four full TLS records.</summary>
    public const int ReadAheadSize = 64 * 1024;

    private readonly NetworkStream _inner = new(socket, ownsSocket: true);
    private byte[]? _readAhead;
    private int _start;
    private int _end;

    public Socket Socket => socket;

    /// <summary>Whether a read would find data without waiting (read ahead here, or in the kernel's receive buffer).</summary>
    public bool DataAvailable => _end > _start || Available() > 0;

    /// <summary>Whether a read-ahead buffer is rented now (only while it holds unread data).</summary>
    public bool HoldsBuffer => _readAhead is not null;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_end > _start)
        {
            return Take(buffer.Span);
        }
        if (Available() == 0)
        {
            // Nothing to read: wait for data holding no buffer (a zero-byte receive), as an idle session does.
            _ = await _inner.ReadAsync(Memory<byte>.Empty, cancellationToken);
        }
        if (buffer.IsEmpty)
        {
            return 0;
        }
        if (buffer.Length >= ReadAheadSize)
        {
            return await _inner.ReadAsync(buffer, cancellationToken);
        }
        var readAhead = ArrayPool<byte>.Shared.Rent(ReadAheadSize);
        int read;
        try
        {
            read = await _inner.ReadAsync(readAhead, cancellationToken);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(readAhead);
            throw;
        }
        _readAhead = readAhead;
        _start = 0;
        _end = read;
        return Take(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer) => _end > _start ? Take(buffer) : _inner.Read(buffer);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // The read-ahead buffer is left to the collector: a read may still be copying from it.
            _readAhead = null;
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Bytes the kernel holds for reading (FIONREAD); 0 once the socket is closed.</summary>
    private int Available()
    {
        try
        {
            return socket.Available;
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            return 0;
        }
    }

    /// <summary>Hands on read-ahead bytes; returns the buffer to the pool once it is empty.</summary>
    private int Take(Span<byte> destination)
    {
        var readAhead = _readAhead!;
        var count = Math.Min(destination.Length, _end - _start);
        readAhead.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        if (_start == _end)
        {
            _readAhead = null;
            _start = _end = 0;
            ArrayPool<byte>.Shared.Return(readAhead);
        }
        return count;
    }
}
