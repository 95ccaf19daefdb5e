namespace EmailProxy.Tests.Relay;

/// <summary>A stream that passes everything on and counts the writes made to it, and the largest; it also tells the size of the first read's buffer.</summary>
internal sealed class WriteCountingStream(Stream inner) : Stream
{
    private int _writes;

    public int Writes => Volatile.Read(ref _writes);

    public int LargestWrite { get; private set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>The length of the buffer the first read was given (0: a zero-byte read that waits for data).</summary>
    public TaskCompletionSource<int> FirstRead { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        FirstRead.TrySetResult(buffer.Length);
        return inner.ReadAsync(buffer, cancellationToken);
    }
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Count(buffer.Length);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Count(count);
        return inner.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        Count(count);
        inner.Write(buffer, offset, count);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Count(int length)
    {
        Interlocked.Increment(ref _writes);
        LargestWrite = Math.Max(LargestWrite, length);
    }
}
