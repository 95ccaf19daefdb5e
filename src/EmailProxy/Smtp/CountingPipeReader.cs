using System.Buffers;
using System.IO.Pipelines;

namespace EmailProxy.Smtp;

/// <summary>
/// A <see cref="PipeReader"/> that counts the bytes its reader consumed (passed <c>AdvanceTo</c>) of the
/// one it wraps: what a client sent to a session the proxy serves itself, for its end line, as the relay
/// counts what it relays. Everything else is the inner reader's.
/// </summary>
internal sealed class CountingPipeReader(PipeReader inner) : PipeReader
{
    private ReadOnlySequence<byte> _last;

    /// <summary>The bytes consumed so far.</summary>
    public long Consumed { get; private set; }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken);
        _last = result.Buffer;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }
        _last = result.Buffer;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        Count(consumed);
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        Count(consumed);
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    private void Count(SequencePosition consumed)
    {
        Consumed += _last.Slice(_last.Start, consumed).Length;
        _last = default;
    }
}
