using System.IO.Pipelines;

namespace EmailProxy.Tests.Relay;

/// <summary>A pipe writer that passes everything on and counts the buffers asked of it (<see cref="GetMemory"/>, <see cref="GetSpan"/>).</summary>
internal sealed class GetMemoryCountingWriter(PipeWriter inner) : PipeWriter
{
    private int _asked;

    public int BuffersAsked => Volatile.Read(ref _asked);

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Interlocked.Increment(ref _asked);
        return inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Interlocked.Increment(ref _asked);
        return inner.GetSpan(sizeHint);
    }
}
