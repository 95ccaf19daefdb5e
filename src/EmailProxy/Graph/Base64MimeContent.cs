using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace EmailProxy.Graph;

/// <summary>
/// A sendMail body: <paramref name="prefix"/> (header lines the proxy adds) and the spooled message,
/// base64-encoded as they are streamed out (<c>Content-Type: text/plain</c>, as Graph's MIME sendMail
/// wants); the message is read from the encrypted spool, never held whole in memory. Can be sent
/// again (a retry after a refreshed token): each send reads the spool from its start.
/// </summary>
internal sealed class Base64MimeContent : HttpContent
{
    private readonly byte[] _prefix;
    private readonly MessageSpool _spool;

    public Base64MimeContent(byte[] prefix, MessageSpool spool)
    {
        _prefix = prefix;
        _spool = spool;
        Headers.ContentType = new MediaTypeHeaderValue("text/plain");
    }

    /// <summary>The MIME bytes before encoding.</summary>
    public long MimeLength => _prefix.Length + _spool.Length;

    /// <summary>The length of the base64 of <paramref name="bytes"/> bytes.</summary>
    public static long EncodedLength(long bytes) => (bytes + 2) / 3 * 4;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var base64 = new CryptoStream(stream, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true);
        await base64.WriteAsync(_prefix, cancellationToken);
        await using (var message = _spool.OpenRead())
        {
            await message.CopyToAsync(base64, 48 * 1024, cancellationToken);
        }
        await base64.FlushFinalBlockAsync(cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = EncodedLength(MimeLength);
        return true;
    }
}
