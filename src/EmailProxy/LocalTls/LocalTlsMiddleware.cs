using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace EmailProxy.LocalTls;

/// <summary>
/// Local TLS in front of a mail port's handler, and the one owner of a connection's TLS transport
/// (as Kestrel's HttpsConnectionMiddleware). When local TLS is on, every connection gets a
/// <see cref="LocalTlsFeature"/> through which TLS is started: here for implicit TLS on a port that
/// sniffs (IMAP, POP: a connection whose first byte opens a TLS handshake record gets TLS; one that
/// sends other bytes, or nothing within <see cref="ClientHelloWait"/>, stays plaintext, so one port
/// serves both kinds of client), or by the session for STARTTLS/STLS. When the handler is done,
/// however it ended, the original transport is put back and the TLS transport disposed (close_notify).
/// </summary>
internal sealed class LocalTlsMiddleware(ConnectionDelegate next, LocalTlsService tls, bool sniffImplicitTls, TimeProvider time)
{
    /// <summary>
    /// How long a new connection may stay silent before it is taken for a plaintext client waiting
    /// for the greeting. A TLS client sends its ClientHello in the packet right after the TCP
    /// handshake, so it is here within a few milliseconds even over a slow link; a plaintext
    /// client sends nothing until it has the greeting, which this delays by at most this much.
    /// </summary>
    public static readonly TimeSpan ClientHelloWait = TimeSpan.FromMilliseconds(150);

    private const byte TlsHandshakeRecord = 0x16;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        if (!tls.Enabled)
        {
            await next(connection);
            return;
        }
        var original = connection.Transport;
        var feature = new LocalTlsFeature(connection, tls);
        connection.Features.Set(feature);
        try
        {
            if (sniffImplicitTls && await StartsWithTlsAsync(original.Input) && !await feature.StartTlsAsync(CancellationToken.None))
            {
                return;
            }
            await next(connection);
        }
        finally
        {
            // Put back what Kestrel gave, so that it closes the socket's own pipes.
            connection.Transport = original;
            if (feature.Transport is { } transport)
            {
                await transport.DisposeAsync();
            }
        }
    }

    private async Task<bool> StartsWithTlsAsync(PipeReader input)
    {
        using var wait = new CancellationTokenSource(ClientHelloWait, time);
        ReadResult result;
        try
        {
            // A cancelled read leaves the pipe as it was (unlike CancelPendingRead, which could
            // race with arriving data and end the session's first read).
            result = await input.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        var startsWithTls = !result.Buffer.IsEmpty && result.Buffer.FirstSpan[0] == TlsHandshakeRecord;
        input.AdvanceTo(result.Buffer.Start);
        return startsWithTls;
    }
}
