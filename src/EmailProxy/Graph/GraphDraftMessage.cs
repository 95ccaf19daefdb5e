using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EmailProxy.Configuration;
using MimeKit;

namespace EmailProxy.Graph;

/// <summary>
/// A message sent as a draft, then the draft's send, instead of one sendMail: a message too large for one
/// sendMail (over <see cref="GraphDelivery.MaxMimeSendBytes"/>, up to Exchange's 150 MB), or one that must
/// not stay in Sent Items (<c>graph_save_to_sent_items = false</c>).
/// <para>A large message is parsed with MimeKit (its parts stay in the encrypted spool, which it reads as it
/// needs), its attachments taken out largest first until the rest fits one request, the rest made a draft
/// from MIME (headers and body as the client wrote them), each attachment then added decoded (its bytes
/// unchanged): under <see cref="UploadSessionThreshold"/> in one request, above through
/// <c>createUploadSession</c> in <see cref="ChunkSize"/> pieces. A message that fits one request is made a
/// draft from its MIME as it is.</para>
/// <para>Without a Sent Items copy the draft gets the extended property PidTagDeleteAfterSubmit
/// (<c>Boolean 0x0E01</c> = true) before it is sent: Exchange deletes the message once it is submitted
/// (MIME sendMail has no <c>saveToSentItems</c>; only its JSON form has).</para>
/// <para>A send that fails on the way deletes its draft, so that nothing half-made is left in the mailbox:
/// when Graph refused the token meanwhile (a 401 midway), with a new one (<paramref name="renewToken"/>, once).</para>
/// </summary>
/// <param name="renewToken">Drops the refused token and gets a new one (single flight with every other
/// send of the account); null when none can be had.</param>
internal sealed class GraphDraftMessage(GraphClient client, AccountOptions account, ServerOptions? server, string accessToken,
    Func<string, CancellationToken, Task<string?>> renewToken)
{
    /// <summary>How long the cleanup of a failed send may take (a new token and the DELETE): the client's reply waits for it.</summary>
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Graph takes an attachment of at most this much in one request; larger ones need an upload session.</summary>
    public const long UploadSessionThreshold = 3L * 1000 * 1000;

    /// <summary>Upload pieces: a multiple of 320 KiB, as Graph asks, under 4 MB.</summary>
    public const int ChunkSize = 320 * 1024 * 12;

    /// <summary>As a message is written on the wire: CRLF line ends whatever the machine's (MimeKit's default is the machine's).</summary>
    private static readonly FormatOptions MailFormat = NewMailFormat();

    private static FormatOptions NewMailFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    /// <summary>PidTagDeleteAfterSubmit: Exchange deletes the message after it was submitted, so no copy stays in Sent Items.</summary>
    public const string DeleteAfterSubmitProperty = "Boolean 0x0E01";

    /// <summary>Draft, attachments, send. Returns the answer that decided (202 of the send, or the first failure).</summary>
    /// <param name="large">Over one request: its attachments are taken out and added to the draft one by one.</param>
    public async Task<GraphAnswer> SendAsync(MessageSpool spool, byte[] bccPrefix, bool large, CancellationToken cancellationToken)
    {
        if (!large)
        {
            return await SendDraftAsync(new Base64MimeContent(bccPrefix, spool), [], cancellationToken);
        }
        await using var stream = spool.OpenRead();
        var message = await MimeMessage.LoadAsync(new ParserOptions(), stream, persistent: true, cancellationToken);
        var removed = TakeOutAttachments(message, spool.Length + bccPrefix.Length);

        using var rest = MessageSpool.Create();
        await using (var writer = rest.OpenWrite())
        {
            await writer.WriteAsync(bccPrefix, cancellationToken);
            await message.WriteToAsync(MailFormat, writer, cancellationToken);
        }
        await rest.CompleteAsync(cancellationToken);
        if (rest.Length > GraphDelivery.MaxMimeSendBytes)
        {
            return new GraphAnswer(413, "ErrorMessageSizeExceeded", "the message's text and headers alone are larger than one Graph request takes", null, true);
        }
        return await SendDraftAsync(new Base64MimeContent([], rest), removed, cancellationToken);
    }

    private async Task<GraphAnswer> SendDraftAsync(Base64MimeContent mime, List<MimePart> attachments, CancellationToken cancellationToken)
    {
        var created = await client.SendAsync(server, HttpMethod.Post, GraphClient.UserUrl(account, "messages"), accessToken, mime, cancellationToken);
        if (created.Status != 201 || IdOf(created) is not { } id)
        {
            // Nothing is sent before the draft's send: a failure up to there is never "may have been sent".
            return created.Status == 201 ? created with { Status = 502, IsJson = false } : created with { MaybeSent = false };
        }
        var messageUrl = GraphClient.UserUrl(account, $"messages/{Uri.EscapeDataString(id)}").AbsoluteUri;
        try
        {
            if (!account.GraphSaveToSentItems)
            {
                var marked = await client.SendAsync(server, HttpMethod.Patch, new Uri(messageUrl), accessToken, DeleteAfterSubmit(), cancellationToken);
                if (marked.Status != 200)
                {
                    await DeleteDraftAsync(messageUrl);
                    return marked with { MaybeSent = false };
                }
            }
            foreach (var part in attachments)
            {
                var added = await AddAttachmentAsync(messageUrl, part, cancellationToken);
                if (added is not null)
                {
                    await DeleteDraftAsync(messageUrl);
                    return added with { MaybeSent = false };
                }
            }
            var sent = await client.SendAsync(server, HttpMethod.Post, new Uri(messageUrl + "/send"), accessToken, null, cancellationToken);
            if (sent.Status != 202 && sent.NetworkFailure is null)
            {
                await DeleteDraftAsync(messageUrl);
            }
            return sent;
        }
        catch
        {
            await DeleteDraftAsync(messageUrl);
            throw;
        }
    }

    /// <summary>Attachments (largest first) out of the tree until what is left fits one request; the parts taken out, in message order.</summary>
    private static List<MimePart> TakeOutAttachments(MimeMessage message, long size)
    {
        var candidates = new List<(MimePart Part, Multipart Parent, long Size)>();
        using (var iterator = new MimeIterator(message))
        {
            while (iterator.MoveNext())
            {
                if (iterator.Current is MimePart { IsAttachment: true } part && iterator.Parent is Multipart parent)
                {
                    candidates.Add((part, parent, EncodedSize(part)));
                }
            }
        }
        var taken = new List<MimePart>();
        foreach (var (part, parent, partSize) in candidates.OrderByDescending(c => c.Size))
        {
            if (size <= GraphDelivery.MaxMimeSendBytes - (64 * 1024))
            {
                break;
            }
            parent.Remove(part);
            taken.Add(part);
            size -= partSize;
        }
        return [.. candidates.Select(c => c.Part).Where(taken.Contains)];
    }

    private static long EncodedSize(MimePart part) => part.Content?.Stream is { CanSeek: true } s ? s.Length : 0;

    /// <summary>Null when added; else the answer that refused it.</summary>
    private async Task<GraphAnswer?> AddAttachmentAsync(string messageUrl, MimePart part, CancellationToken cancellationToken)
    {
        using var decoded = MessageSpool.Create();
        await using (var writer = decoded.OpenWrite())
        {
            if (part.Content is { } body)
            {
                await body.DecodeToAsync(writer, cancellationToken);
            }
        }
        await decoded.CompleteAsync(cancellationToken);
        var name = part.FileName ?? "attachment";
        var contentType = part.ContentType.MimeType;
        if (decoded.Length < UploadSessionThreshold)
        {
            await using var stream = decoded.OpenRead();
            var bytes = new byte[decoded.Length];
            await stream.ReadExactlyAsync(bytes, cancellationToken);
            var json = Json(w =>
            {
                w.WriteString("@odata.type", "#microsoft.graph.fileAttachment");
                w.WriteString("name", name);
                w.WriteString("contentType", contentType);
                w.WriteBoolean("isInline", !part.IsAttachment);
                if (part.ContentId is { } cid)
                {
                    w.WriteString("contentId", cid);
                }
                w.WriteBase64String("contentBytes", bytes);
            });
            var added = await client.SendAsync(server, HttpMethod.Post, new Uri(messageUrl + "/attachments"), accessToken, json, cancellationToken);
            return added.Status == 201 ? null : added;
        }

        var session = await client.SendAsync(server, HttpMethod.Post, new Uri(messageUrl + "/attachments/createUploadSession"), accessToken, Json(w =>
        {
            w.WriteStartObject("AttachmentItem");
            w.WriteString("attachmentType", "file");
            w.WriteString("name", name);
            w.WriteNumber("size", decoded.Length);
            w.WriteString("contentType", contentType);
            if (part.ContentId is { } cid)
            {
                w.WriteBoolean("isInline", true);
                w.WriteString("contentId", cid);
            }
            w.WriteEndObject();
        }), cancellationToken);
        if (session.Status != 201 || StringOf(session, "uploadUrl") is not { } uploadUrl || !Uri.TryCreate(uploadUrl, UriKind.Absolute, out var upload))
        {
            return session.Status == 201 ? session with { Status = 502, IsJson = false } : session;
        }
        await using var content = decoded.OpenRead();
        var buffer = new byte[ChunkSize];
        long offset = 0;
        while (offset < decoded.Length)
        {
            var length = (int)Math.Min(ChunkSize, decoded.Length - offset);
            await content.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken);
            var chunk = new ByteArrayContent(buffer, 0, length);
            chunk.Headers.ContentRange = new ContentRangeHeaderValue(offset, offset + length - 1, decoded.Length);
            chunk.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            // The upload URL carries its own authorization: no bearer token is sent to it.
            var put = await client.SendAsync(server, HttpMethod.Put, upload, null, chunk, cancellationToken);
            offset += length;
            var expected = offset < decoded.Length ? 200 : 201;
            if (put.Status != expected && !(offset >= decoded.Length && put.Status == 200))
            {
                return put;
            }
        }
        return null;
    }

    private async Task DeleteDraftAsync(string messageUrl)
    {
        // Best effort, on its own time: the client's reply does not wait for long on a cleanup.
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            var deleted = await client.SendAsync(server, HttpMethod.Delete, new Uri(messageUrl), accessToken, null, timeout.Token);
            // The token expired or was revoked midway (the step that failed may have been its 401): once more with a new one.
            if (deleted.Status == 401 && await renewToken(accessToken, timeout.Token) is { } renewed)
            {
                accessToken = renewed;
                await client.SendAsync(server, HttpMethod.Delete, new Uri(messageUrl), accessToken, null, timeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Left behind: the log line of the failed send says so.
        }
    }

    /// <summary>The PATCH that marks a draft PidTagDeleteAfterSubmit.</summary>
    private static StringContent DeleteAfterSubmit() => Json(w =>
    {
        w.WriteStartArray("singleValueExtendedProperties");
        w.WriteStartObject();
        w.WriteString("id", DeleteAfterSubmitProperty);
        w.WriteString("value", "true");
        w.WriteEndObject();
        w.WriteEndArray();
    });

    private static string? IdOf(GraphAnswer answer) => StringOf(answer, "id");

    private static string? StringOf(GraphAnswer answer, string property)
    {
        if (answer.Body is null)
        {
            return null;
        }
        using var json = JsonDocument.Parse(answer.Body);
        return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
    }

    private static StringContent Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return new StringContent(Encoding.UTF8.GetString(buffer.ToArray()), Encoding.UTF8, "application/json");
    }
}
