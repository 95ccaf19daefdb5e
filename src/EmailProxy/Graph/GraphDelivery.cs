using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Smtp;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace EmailProxy.Graph;

/// <summary>
/// Delivers one spooled message through Microsoft Graph and says what the SMTP client hears: 250
/// only after Graph's 202. A 401 gets one new Graph token and one more try; throttling (429/503/504)
/// is a 451 with the wait in words; too large a 552 5.3.4; a refused permission or Send As a 550
/// with the fix; no answer after the request went out a 451 and a log line that it may have been
/// sent (Graph has no idempotency key, so the client's retry may send it twice). A message over
/// one request's size goes as a draft with its attachments added, then sent; so does every message of an
/// account with <c>graph_save_to_sent_items = false</c>, its draft marked to be deleted after submission (<see cref="GraphDraftMessage"/>).
/// </summary>
/// <remarks>
/// Graph's MIME sendMail takes its recipients from the message's headers, not from an envelope.
/// Envelope recipients that are not in To or Cc (Bcc) are added as a <c>Bcc:</c> header in front of
/// the message sent (never to the spool): Exchange delivers to them and removes the header from
/// what the others receive. A header recipient that is not in the envelope would be delivered to by
/// Graph although the client did not ask for it: such a message is refused (554), not sent.
/// </remarks>
internal sealed partial class GraphDelivery(GraphTokens tokens, GraphClient client, GraphActivity activity, TimeProvider time, ILogger<GraphDelivery> log, GraphMetrics? metrics = null)
{
    /// <summary>Exchange Online's largest message.</summary>
    public const long MaxMessageBytes = 150L * 1024 * 1024;

    /// <summary>Graph's request limit: the most MIME whose base64 fits 4 MB, for one sendMail.</summary>
    public const long MaxMimeSendBytes = 4L * 1024 * 1024 / 4 * 3;

    public async Task<string> SendAsync(AccountOptions account, ServerOptions? server, MessageSpool spool, GraphEnvelope envelope, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var (reply, result, messageId, throttled) = await DeliverAsync(account, server, spool, envelope, cancellationToken);
        var elapsed = time.GetElapsedTime(started);
        metrics?.Sent(result, elapsed);
        activity.Sent(account.Name, result, throttled);
        LogSent(log, account.Name, messageId ?? "-", spool.Length, envelope.Recipients.Count, result, (long)elapsed.TotalMilliseconds);
        return reply;
    }

    private async Task<(string Reply, string Result, string? MessageId, TimeSpan? Throttled)> DeliverAsync(
        AccountOptions account, ServerOptions? server, MessageSpool spool, GraphEnvelope envelope, CancellationToken cancellationToken)
    {
        HeaderList? headers = null;
        try
        {
            await using var stream = spool.OpenRead();
            headers = await HeaderList.LoadAsync(stream, cancellationToken);
        }
        catch (FormatException)
        {
            // MimeKit's ParseException: sent as it is when it fits one sendMail (below).
        }
        var messageId = headers?[HeaderId.MessageId] is { } id ? ClientText.Sanitize(id.Trim(), 200) : null;
        byte[] prefix = [];
        if (headers is not null)
        {
            var listed = AddressesOf(headers, HeaderId.To).Concat(AddressesOf(headers, HeaderId.Cc)).Concat(AddressesOf(headers, HeaderId.Bcc))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            var unasked = listed.Where(a => !envelope.Recipients.Contains(a, StringComparer.OrdinalIgnoreCase)).ToList();
            if (unasked.Count > 0)
            {
                return (SmtpSession.MultiLine(554, "5.5.0", [$"Not sent: Microsoft Graph delivers to every To/Cc/Bcc address of the message, and {ClientText.Sanitize(string.Join(", ", unasked), 300)} {(unasked.Count == 1 ? "is" : "are")} not among this transaction's RCPT TO. Send one transaction with all of the message's recipients."]),
                    "refused", messageId, null);
            }
            var hidden = envelope.Recipients.Where(r => !listed.Contains(r)).ToList();
            if (hidden.Count > 0)
            {
                prefix = Encoding.UTF8.GetBytes($"Bcc: {string.Join(", ", hidden)}\r\n");
            }
        }
        var large = prefix.Length + spool.Length > MaxMimeSendBytes;
        if (large && headers is null)
        {
            return (SmtpSession.MultiLine(554, "5.6.0", ["Not sent: the message is not MIME that can be parsed (its header is malformed), and at this size Microsoft Graph takes only a message it can split into a draft and attachments"]),
                "unparsable", messageId, null);
        }

        var token = await tokens.GetAsync(account, cancellationToken);
        if (token.AccessToken is null)
        {
            return (token.Temporary
                ? SmtpSession.MultiLine(451, "4.7.0", [$"Not sent: {token.Failure}"])
                : SmtpSession.MultiLine(550, "5.7.1", [$"Not sent: {token.Failure}"]), "token_failed", messageId, null);
        }
        // A new content for each try: the request that carried one disposes it.
        Task<GraphAnswer> TryAsync(string accessToken) => large || !account.GraphSaveToSentItems
            ? new GraphDraftMessage(client, account, server, accessToken, RenewAsync).SendAsync(spool, prefix, large, cancellationToken)
            : client.SendMimeAsync(account, server, accessToken, new Base64MimeContent(prefix, spool), cancellationToken);
        GraphAnswer answer;
        try
        {
            answer = await TryAsync(token.AccessToken);
            if (answer.Status == 401)
            {
                tokens.Invalidate(account, token.AccessToken);
                token = await tokens.GetAsync(account, cancellationToken);
                if (token.AccessToken is null)
                {
                    return (SmtpSession.MultiLine(451, "4.7.0", [$"Not sent: Microsoft Graph refused the token and no new one could be had: {token.Failure}"]), "token_failed", messageId, null);
                }
                answer = await TryAsync(token.AccessToken);
            }
        }
        catch (FormatException e)
        {
            // MimeKit's ParseException while splitting a large message.
            return (SmtpSession.MultiLine(554, "5.6.0", [$"Not sent: the message is not MIME that can be parsed ({ClientText.Sanitize(e.Message, 200)}), and at this size Microsoft Graph takes only a message it can split into a draft and attachments"]),
                "unparsable", messageId, null);
        }
        return Map(account, answer, messageId);

        // A large send's cleanup after a 401 midway: the same single-flight renewal the retry above then finds done.
        async Task<string?> RenewAsync(string refused, CancellationToken ct)
        {
            tokens.Invalidate(account, refused);
            return (await tokens.GetAsync(account, ct)).AccessToken;
        }
    }

    private (string Reply, string Result, string? MessageId, TimeSpan? Throttled) Map(AccountOptions account, GraphAnswer answer, string? messageId)
    {
        if (answer.NetworkFailure is { } failure)
        {
            if (answer.MaybeSent)
            {
                LogMaybeSent(log, account.Name, messageId ?? "-", failure);
                return (SmtpSession.MultiLine(451, "4.4.2", [$"Microsoft Graph did not answer ({failure}); the message may have been sent: {CheckSentItems(account)} before sending it again"]), "maybe_sent", messageId, null);
            }
            return (SmtpSession.MultiLine(451, "4.4.1", [$"Not sent: Microsoft Graph cannot be reached ({failure}); try again later"]), "unreachable", messageId, null);
        }
        var what = answer.Code is null ? $"HTTP {answer.Status}" : $"HTTP {answer.Status} {answer.Code}: {answer.Message}";
        if (answer.Status == 202)
        {
            return ("250 2.0.0 OK: accepted by Microsoft Graph for delivery", "sent", messageId, null);
        }
        if (GraphClient.IsThrottled(answer.Status))
        {
            var wait = answer.RetryAfter is { } retry && retry > TimeSpan.Zero ? retry : TimeSpan.FromSeconds(30);
            return (SmtpSession.MultiLine(451, "4.4.5", [$"Not sent: Microsoft Graph is busy ({what}); try again in {InWords(wait)}"]), "throttled", messageId, wait);
        }
        if (answer.Status == 413 || answer.Code is "ErrorMessageSizeExceeded")
        {
            return (SmtpSession.MultiLine(552, "5.3.4", [$"Not sent: the message is too large for Microsoft Graph ({what})"]), "too_large", messageId, null);
        }
        if (answer.Code is "ErrorSendAsDenied")
        {
            return (SmtpSession.MultiLine(550, "5.7.60", [$"Not sent: {what}. {GraphFixes.SendAs(account)}"]), "send_as_denied", messageId, null);
        }
        if (answer.Status is 401 or 403)
        {
            return (SmtpSession.MultiLine(550, "5.7.1", [$"Not sent: Microsoft Graph refused to send as {account.Username} ({what}). {GraphFixes.Permission(account)}"]), "access_denied", messageId, null);
        }
        if (!answer.IsJson)
        {
            return (SmtpSession.MultiLine(451, "4.3.0", [$"Not sent: Microsoft Graph answered HTTP {answer.Status} with something that is not JSON (is graph_url right for account {account.Name}?)"]), "bad_answer", messageId, null);
        }
        if (answer.Status is >= 500)
        {
            return (SmtpSession.MultiLine(451, "4.3.0", [$"Not sent: Microsoft Graph failed ({what}); try again later"]), "graph_error", messageId, null);
        }
        if (answer.Status is >= 200 and < 300)
        {
            // Not the 202 sendMail gives: it may have been sent, the client is not told it was.
            LogMaybeSent(log, account.Name, messageId ?? "-", what);
            return (SmtpSession.MultiLine(451, "4.4.2", [$"Microsoft Graph answered {what} instead of 202; the message may have been sent: {CheckSentItems(account)}"]), "maybe_sent", messageId, null);
        }
        return (SmtpSession.MultiLine(554, "5.6.0", [$"Not sent: Microsoft Graph refused the message ({what})"]), "refused", messageId, null);
    }

    /// <summary>Where to look whether a message went out (without a Sent Items copy, only its recipients can tell).</summary>
    private static string CheckSentItems(AccountOptions account) => account.GraphSaveToSentItems
        ? $"check the Sent Items of {account.Username}"
        : "ask its recipients (graph_save_to_sent_items = false keeps no copy in Sent Items)";

    private static IEnumerable<string> AddressesOf(HeaderList headers, HeaderId id)
    {
        foreach (var header in headers.Where(h => h.Id == id))
        {
            if (InternetAddressList.TryParse(header.RawValue is { } raw ? Encoding.UTF8.GetString(raw) : header.Value, out var list))
            {
                foreach (var mailbox in list.Mailboxes)
                {
                    yield return mailbox.Address;
                }
            }
        }
    }

    /// <summary>"2 minutes", "45 seconds", "1 hour 5 minutes".</summary>
    internal static string InWords(TimeSpan wait)
    {
        var seconds = (long)Math.Ceiling(wait.TotalSeconds);
        static string Unit(long n, string one) => n.ToString(CultureInfo.InvariantCulture) + " " + one + (n == 1 ? "" : "s");
        if (seconds < 60)
        {
            return Unit(seconds, "second");
        }
        if (seconds < 3600)
        {
            var minutes = seconds / 60;
            return seconds % 60 == 0 ? Unit(minutes, "minute") : $"{Unit(minutes, "minute")} {Unit(seconds % 60, "second")}";
        }
        return seconds % 3600 / 60 == 0 ? Unit(seconds / 3600, "hour") : $"{Unit(seconds / 3600, "hour")} {Unit(seconds % 3600 / 60, "minute")}";
    }

    [LoggerMessage(EventId = 2410, EventName = "GraphMessageSent", Level = LogLevel.Information,
        Message = "Message {MessageId} of account {Account} through Microsoft Graph: {Bytes} bytes, {Recipients} recipients, result {Result}, {Milliseconds} ms")]
    private static partial void LogSent(ILogger logger, string account, string messageId, long bytes, int recipients, string result, long milliseconds);

    [LoggerMessage(EventId = 2411, EventName = "GraphMessageMaybeSent", Level = LogLevel.Warning,
        Message = "Message {MessageId} of account {Account}: Microsoft Graph's answer was lost after the request went out ({Failure}); it may have been sent, and the client was told to try again (451), which may send it twice")]
    private static partial void LogMaybeSent(ILogger logger, string account, string messageId, string failure);
}
