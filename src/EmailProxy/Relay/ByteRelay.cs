using System.Buffers;
using System.IO.Pipelines;
using EmailProxy.Diagnostics;
using EmailProxy.Upstream;

namespace EmailProxy.Relay;

/// <summary>
/// After the login the proxy is a byte pump: client to upstream and back, unchanged, with the
/// pipes' pooled buffers, until either side closes, which closes the other. Towards the upstream,
/// what the client pipe holds goes out in writes of up to 16 KiB (one TLS record and one send each,
/// not one per 4 KiB pipe segment); towards the client, reads go on while the upstream has more
/// bytes waiting, and one flush (one send) carries up to 64 KiB. No buffer is rented while a
/// direction waits: the client side waits in Kestrel's pipe, the upstream side in a zero-byte
/// receive (<see cref="UpstreamSocketStream"/>). On shutdown the
/// client is sent the protocol's closing line (<c>* BYE</c>, <c>421</c>…) when that does not cut
/// a line of the upstream's in two. An observer may be shown each chunk copied to the client (SMTP
/// watches its replies for refusals it has a fix for): it reads them in place, synchronously, and
/// changes nothing; without one the pump does exactly what it did.
/// </summary>
internal static class ByteRelay
{
    /// <summary>How long the server's last answers may take after a client half-closed (sent its commands, then FIN).</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A TLS record holds at most 16 KiB: a read this size takes a whole one, a write this size makes one.</summary>
    private const int RecordSize = 16 * 1024;

    /// <summary>How much read from the upstream may wait for more before it is flushed to the client.</summary>
    private const int MaxUnflushed = 64 * 1024;

    /// <param name="bytes">Where each copied chunk is counted for the metrics, one add per chunk; none when null.</param>
    /// <param name="observeDown">
    /// Shown each chunk copied from the upstream to the client, in order, before it is flushed; it must not keep the
    /// span, block or throw. None when null (IMAP, POP).
    /// </param>
    public static async Task<RelayResult> RunAsync(IDuplexPipe client, UpstreamConnection upstream, ReadOnlyMemory<byte> shutdownNotice, CancellationToken stopping,
        RelayByteCounter? bytes = null, Action<ReadOnlySpan<byte>>? observeDown = null)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var toUpstream = new Counter(bytes is null ? null : bytes.ToUpstream);
        var toClient = new Counter(bytes is null ? null : bytes.ToClient);
        var up = PumpToStreamAsync(client.Input, upstream.Stream, toUpstream, cancel.Token);
        var down = PumpToPipeAsync(upstream, client.Output, toClient, observeDown, cancel.Token);

        var first = await Task.WhenAny(up, down);
        if (first == up && up.Result.End == RelayEnd.ClientClosed && !stopping.IsCancellationRequested)
        {
            // The client is done sending but may still read (printf … | nc -N): tell the server,
            // and let its remaining answers through until it closes.
            await upstream.ShutdownSendAsync();
            try
            {
                await down.WaitAsync(DrainTimeout, stopping);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                // The server kept the connection open: it is closed below.
            }
        }
        await cancel.CancelAsync();
        await Task.WhenAll(up, down);
        var (end, error) = stopping.IsCancellationRequested ? new PumpEnd(RelayEnd.ShuttingDown, null) : await first;

        if (end == RelayEnd.ShuttingDown && toClient.LastByte is null or (byte)'\n')
        {
            try
            {
                using var flushTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.Output.WriteAsync(shutdownNotice, flushTimeout.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
            {
                // The client is gone already; nothing more to tell it.
            }
        }
        return new RelayResult(toUpstream.Bytes, toClient.Bytes, end, error);
    }

    /// <summary>Client to upstream, until the client closes its side or either side fails.</summary>
    private static async Task<PumpEnd> PumpToStreamAsync(PipeReader source, Stream destination, Counter counter, CancellationToken cancellationToken)
    {
        var failing = RelayEnd.ClientFailed;
        try
        {
            while (true)
            {
                failing = RelayEnd.ClientFailed;
                var result = await source.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                failing = RelayEnd.UpstreamFailed;
                await WriteInRecordsAsync(destination, buffer, counter, cancellationToken);
                source.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return new(RelayEnd.ClientClosed, null);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new(RelayEnd.ShuttingDown, null);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // OperationCanceledException here is Kestrel's ConnectionAbortedException: the client connection was aborted.
            return new(failing, e);
        }
    }

    /// <summary>
    /// Upstream to client: first what the upstream reader already holds (sent right after the
    /// login), then straight from the upstream stream into the client pipe's own memory — one copy
    /// (the decryption's) instead of two.
    /// </summary>
    private static async Task<PumpEnd> PumpToPipeAsync(UpstreamConnection source, PipeWriter destination, Counter counter, Action<ReadOnlySpan<byte>>? observe,
        CancellationToken cancellationToken)
    {
        var failing = RelayEnd.ClientFailed;
        try
        {
            if (source.Reader.TryRead(out var buffered))
            {
                foreach (var segment in buffered.Buffer)
                {
                    destination.Write(segment.Span);
                    counter.Add(segment.Span);
                    observe?.Invoke(segment.Span);
                }
                source.Reader.AdvanceTo(buffered.Buffer.End);
                if ((await destination.FlushAsync(cancellationToken)).IsCompleted)
                {
                    return new(RelayEnd.ClientClosed, null);
                }
            }
            var unflushed = 0;
            while (true)
            {
                failing = RelayEnd.UpstreamFailed;
                if (!source.DataAvailable)
                {
                    // Nothing waiting: wait for the upstream without a buffer (a zero-byte read, which SslStream passes
                    // down and answers without renting its own), so that an idle session pins no 16 KiB of the client pipe.
                    _ = await source.Stream.ReadAsync(Memory<byte>.Empty, cancellationToken);
                }
                var memory = destination.GetMemory(RecordSize);
                var read = await source.Stream.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    if (unflushed > 0)
                    {
                        failing = RelayEnd.ClientFailed;
                        await destination.FlushAsync(cancellationToken);
                    }
                    return new(RelayEnd.UpstreamClosed, null);
                }
                counter.Add(memory.Span[..read]);
                observe?.Invoke(memory.Span[..read]);
                destination.Advance(read);
                unflushed += read;
                if (unflushed < MaxUnflushed && source.DataAvailable)
                {
                    // More is already here: one send to the client for several records.
                    continue;
                }
                unflushed = 0;
                failing = RelayEnd.ClientFailed;
                if ((await destination.FlushAsync(cancellationToken)).IsCompleted)
                {
                    return new(RelayEnd.ClientClosed, null);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new(RelayEnd.ShuttingDown, null);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            return new(failing, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> in pieces of up to <see cref="RecordSize"/>: a piece spread over several pipe
    /// segments is gathered into one pooled buffer first, so that each write is one TLS record and one send.
    /// </summary>
    private static async ValueTask WriteInRecordsAsync(Stream destination, ReadOnlySequence<byte> data, Counter counter, CancellationToken cancellationToken)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (data.IsSingleSegment)
        {
            await destination.WriteAsync(data.First, cancellationToken);
            counter.Add(data.FirstSpan);
            return;
        }
        var gathered = ArrayPool<byte>.Shared.Rent(RecordSize);
        try
        {
            while (!data.IsEmpty)
            {
                var piece = data.Slice(0, Math.Min(RecordSize, data.Length));
                ReadOnlyMemory<byte> chunk;
                if (piece.IsSingleSegment)
                {
                    chunk = piece.First;
                }
                else
                {
                    piece.CopyTo(gathered);
                    chunk = gathered.AsMemory(0, (int)piece.Length);
                }
                await destination.WriteAsync(chunk, cancellationToken);
                counter.Add(chunk.Span);
                data = data.Slice(piece.End);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(gathered);
        }
    }

    /// <summary>How one direction ended.</summary>
    private readonly record struct PumpEnd(RelayEnd End, Exception? Error);

    /// <summary>One direction's bytes and last byte; each chunk also goes to <paramref name="metric"/> when there is one.</summary>
    private sealed class Counter(Action<long>? metric)
    {
        public long Bytes { get; private set; }
        public byte? LastByte { get; private set; }

        public void Add(ReadOnlySpan<byte> span)
        {
            if (span.IsEmpty)
            {
                return;
            }
            Bytes += span.Length;
            LastByte = span[^1];
            metric?.Invoke(span.Length);
        }
    }
}
