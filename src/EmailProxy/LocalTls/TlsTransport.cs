using System.IO.Pipelines;
using System.Net.Security;

namespace EmailProxy.LocalTls;

/// <summary>
/// The decrypted side of a TLS connection to a client, as the pipes the sessions read and write.
/// Disposing it ends the TLS session (close_notify) and leaves the encrypted pipes open.
/// </summary>
internal sealed class TlsTransport(SslStream tls) : IDuplexPipe, IAsyncDisposable
{
    // Reads of a whole TLS record (16 KiB), not the default 4 KiB: the relay passes on what one read gives, and the
    // upstream's TLS would otherwise cut every client record into four (issue 15). Zero-byte reads first, so that
    // an idle session holds no read buffer while it waits.
    public PipeReader Input { get; } = PipeReader.Create(tls, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true, useZeroByteReads: true));
    public PipeWriter Output { get; } = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync();
        await Output.CompleteAsync();
        try
        {
            // close_notify: OpenSSL 3 clients (PHP's, EspoCRM's) report an unexpected EOF without it.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await tls.ShutdownAsync().WaitAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or System.Security.Authentication.AuthenticationException)
        {
            // The client is gone already.
        }
        await tls.DisposeAsync();
    }
}
