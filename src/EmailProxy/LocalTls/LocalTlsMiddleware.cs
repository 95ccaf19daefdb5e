using System.IO.Pipelines;
using EmailProxy.Configuration;
using Microsoft.AspNetCore.Connections;

namespace EmailProxy.LocalTls;

/// <summary>
/// Local TLS in front of a mail port's handler, and the one owner of a connection's TLS transport
/// (as Kestrel's HttpsConnectionMiddleware). Every connection gets a <see cref="LocalTlsFeature"/>
/// with the listener's mode, fixed when the listener is bound:
/// <list type="bullet">
/// <item><c>auto</c>: a connection whose first byte opens a TLS handshake record gets implicit TLS;
/// one that sends other bytes, or nothing within <see cref="ClientHelloWait"/>, stays plaintext,
/// so one port serves both kinds of client. STARTTLS/STLS is not offered.</item>
/// <item><c>starttls</c>: plaintext at once, no wait; the session offers STARTTLS/STLS through the feature.</item>
/// <item><c>implicit</c>: TLS from the first byte, no wait, no plaintext.</item>
/// <item><c>off</c>: plaintext at once; TLS cannot be started.</item>
/// </list>
/// When the handler is done, however it ended, the original transport is put back and the TLS
/// transport disposed (close_notify).
/// </summary>
internal sealed class LocalTlsMiddleware(ConnectionDelegate next, LocalTlsService tls, LocalTlsMode mode, TimeProvider time)
{
    /// <summary>
    /// How long a new connection on an <c>auto</c> listener may stay silent before it is taken for a
    /// plaintext client waiting for the greeting, which this delays by as much. A TLS client sends
    /// its ClientHello right after the TCP handshake, but some do work first. Measured on loopback:
    /// OpenSSL's s_client, curl, msmtp and Python within 7 ms; PHP's <c>ssl://</c> streams (EspoCRM)
    /// after 21–43 ms and mbsync after 40–75 ms, both loading the CA bundle after the connect. With
    /// both cores busy (load average 6–7) PHP took 120–235 ms and mbsync 144–272 ms, the others up
    /// to 36 ms: the former 150 ms greeted such clients in plaintext. One second leaves about four
    /// times the slowest; a plaintext client (it waits for the greeting) pays it once per
    /// connection, which mail clients that poll or send now and then do not notice. A client that
    /// must not wait at all has its mode: <c>implicit</c>, <c>starttls</c> or <c>off</c>. A
    /// ClientHello that still comes too late is logged with the fix (<see cref="LocalTlsService.ReportLateClientHello"/>).
    /// </summary>
    public static readonly TimeSpan ClientHelloWait = TimeSpan.FromSeconds(1);

    private const byte TlsHandshakeRecord = 0x16;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var original = connection.Transport;
        var feature = new LocalTlsFeature(connection, tls, mode, time);
        connection.Features.Set(feature);
        try
        {
            var implicitTls = mode switch
            {
                LocalTlsMode.Implicit => true,
                LocalTlsMode.Auto => await StartsWithTlsAsync(original.Input),
                _ => false,
            };
            if (implicitTls && !await feature.StartTlsAsync(CancellationToken.None))
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
        var startsWithTls = OpensTlsHandshake(result.Buffer);
        input.AdvanceTo(result.Buffer.Start);
        return startsWithTls;
    }

    /// <summary>Whether a client's first bytes open a TLS handshake record (0x16: a ClientHello follows).</summary>
    public static bool OpensTlsHandshake(in System.Buffers.ReadOnlySequence<byte> firstBytes) =>
        !firstBytes.IsEmpty && firstBytes.FirstSpan[0] == TlsHandshakeRecord;
}
