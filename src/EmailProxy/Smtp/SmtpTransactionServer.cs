using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.Connections;
using EmailProxy.Graph;

namespace EmailProxy.Smtp;

/// <summary>
/// The SMTP server the proxy itself is after AUTH when it delivers through Microsoft Graph: MAIL
/// (with SIZE), RCPT (at most <see cref="MaxRecipients"/>), DATA (dot-unstuffed into an encrypted
/// <see cref="MessageSpool"/>, never whole in memory), RSET, NOOP, EHLO/HELO again, QUIT; pipelined
/// commands are answered in order (PIPELINING is advertised); no BDAT (CHUNKING is not). The client
/// hears 250 at the end of DATA only once the delivery accepted the message. It counts the bytes it
/// read from the client and wrote to it (<see cref="BytesFromClient"/>, <see cref="BytesToClient"/>) for
/// the session's end line, as the relay does.
/// </summary>
internal sealed class SmtpTransactionServer(
    PipeReader input,
    Func<string, CancellationToken, ValueTask> write,
    Func<MessageSpool, GraphEnvelope, CancellationToken, Task<string>> deliver,
    TimeProvider time)
{
    /// <summary>Exchange Online's default limit of recipients per message.</summary>
    public const int MaxRecipients = 500;

    /// <summary>How long the client may stay silent between commands (RFC 5321 4.5.3.2 asks at least 5 minutes).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    /// <summary>How long one DATA may take, from 354 to the end of data.</summary>
    public static readonly TimeSpan DataTimeout = TimeSpan.FromMinutes(30);

    private readonly CountingPipeReader _input = new(input);
    private string? _from;
    private readonly List<string> _recipients = [];
    private int _sent;

    /// <summary>The bytes read from the client so far: commands and message data as they came on the wire.</summary>
    public long BytesFromClient => _input.Consumed;

    /// <summary>The bytes of the replies written to the client so far.</summary>
    public long BytesToClient { get; private set; }

    /// <summary>Serves commands until QUIT or the client leaves; returns the session's result for its end line.</summary>
    public async Task<string> RunAsync(CancellationToken stopping)
    {
        while (true)
        {
            string? line;
            using (var idle = new CancellationTokenSource(IdleTimeout, time))
            using (var window = CancellationTokenSource.CreateLinkedTokenSource(stopping, idle.Token))
            {
                try
                {
                    line = await _input.ReadLineAsync(MailSession.MaxLineLength, window.Token) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
                }
                catch (OperationCanceledException) when (idle.IsCancellationRequested && !stopping.IsCancellationRequested)
                {
                    await WriteAsync($"421 4.4.2 No command for {IdleTimeout.TotalMinutes:0} minutes; closing", stopping);
                    return Result("idle timeout");
                }
            }
            if (line is null)
            {
                return Result("closed by the client");
            }
            var (verb, argument) = SmtpCommand.Parse(line);
            switch (verb)
            {
                case "EHLO":
                    Reset();
                    await WriteAsync(SmtpSession.MultiLine(250, null, [$"{HostIdentity.Name} Hello {SmtpSession.Sanitize(argument)}", .. SmtpSession.Extensions.Where(e => !e.StartsWith("AUTH", StringComparison.Ordinal))]), stopping);
                    break;
                case "HELO":
                    Reset();
                    await WriteAsync($"250 {HostIdentity.Name} Hello {SmtpSession.Sanitize(argument)}", stopping);
                    break;
                case "NOOP":
                    await WriteAsync("250 2.0.0 OK", stopping);
                    break;
                case "RSET":
                    Reset();
                    await WriteAsync("250 2.0.0 Reset", stopping);
                    break;
                case "QUIT":
                    await WriteAsync("221 2.0.0 Bye", stopping);
                    return Result("QUIT");
                case "MAIL":
                    await WriteAsync(Mail(argument), stopping);
                    break;
                case "RCPT":
                    await WriteAsync(Rcpt(argument), stopping);
                    break;
                case "DATA":
                    await DataAsync(stopping);
                    break;
                case "AUTH":
                    await WriteAsync("503 5.5.1 Already authenticated", stopping);
                    break;
                case "STARTTLS":
                    await WriteAsync("503 5.5.1 STARTTLS is only possible before AUTH", stopping);
                    break;
                case "BDAT":
                    await WriteAsync("502 5.5.1 BDAT is not offered (no CHUNKING): use DATA", stopping);
                    break;
                case "VRFY":
                    await WriteAsync("252 2.5.0 Cannot verify the address; send the message and it will be tried", stopping);
                    break;
                default:
                    await WriteAsync("500 5.5.2 Command not recognized", stopping);
                    break;
            }
        }
    }

    private ValueTask WriteAsync(string reply, CancellationToken cancellationToken)
    {
        // As the session writes it: UTF-8 and a CRLF.
        BytesToClient += Encoding.UTF8.GetByteCount(reply) + 2;
        return write(reply, cancellationToken);
    }

    private string Result(string end) => $"served through Microsoft Graph, {_sent} message{(_sent == 1 ? "" : "s")} sent, ended by {end}";

    private void Reset()
    {
        _from = null;
        _recipients.Clear();
    }

    private string Mail(string argument)
    {
        if (_from is not null)
        {
            return "503 5.5.1 MAIL already given: send RSET to start over";
        }
        if (!TryPath(argument, "FROM:", out var address, out var parameters))
        {
            return "501 5.5.4 Syntax: MAIL FROM:<address>";
        }
        foreach (var parameter in parameters)
        {
            var (name, value) = parameter.IndexOf('=') is var eq and > 0 ? (parameter[..eq], parameter[(eq + 1)..]) : (parameter, "");
            if (name.Equals("SIZE", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                {
                    return "501 5.5.4 SIZE needs a number";
                }
                if (size > GraphDelivery.MaxMessageBytes)
                {
                    return $"552 5.3.4 The message is larger than Exchange Online takes ({GraphDelivery.MaxMessageBytes / 1024 / 1024} MB)";
                }
            }
        }
        _from = address;
        return "250 2.1.0 Sender OK";
    }

    private string Rcpt(string argument)
    {
        if (_from is null)
        {
            return "503 5.5.1 Send MAIL first";
        }
        if (!TryPath(argument, "TO:", out var address, out _) || address.Length == 0)
        {
            return "501 5.5.4 Syntax: RCPT TO:<address>";
        }
        if (_recipients.Count >= MaxRecipients)
        {
            return $"452 4.5.3 Too many recipients: at most {MaxRecipients} in one message; send the rest in another";
        }
        _recipients.Add(address);
        return "250 2.1.5 Recipient OK";
    }

    private async Task DataAsync(CancellationToken stopping)
    {
        if (_from is null)
        {
            await WriteAsync("503 5.5.1 Send MAIL first", stopping);
            return;
        }
        if (_recipients.Count == 0)
        {
            await WriteAsync("554 5.5.1 No valid recipients: send RCPT TO first", stopping);
            return;
        }
        using var spool = MessageSpool.Create();
        await WriteAsync("354 Start mail input; end with <CRLF>.<CRLF>", stopping);
        long size;
        using (var limit = new CancellationTokenSource(DataTimeout, time))
        using (var window = CancellationTokenSource.CreateLinkedTokenSource(stopping, limit.Token))
        {
            size = await SmtpDataReader.ReadAsync(_input, spool.WriteAsync, GraphDelivery.MaxMessageBytes, window.Token);
        }
        var envelope = new GraphEnvelope(_from, [.. _recipients]);
        Reset();
        if (size > GraphDelivery.MaxMessageBytes)
        {
            await WriteAsync($"552 5.3.4 The message is larger than Exchange Online takes ({GraphDelivery.MaxMessageBytes / 1024 / 1024} MB); not sent", stopping);
            return;
        }
        await spool.CompleteAsync(stopping);
        var reply = await deliver(spool, envelope, stopping);
        if (reply.StartsWith("250", StringComparison.Ordinal))
        {
            _sent++;
        }
        await WriteAsync(reply, stopping);
    }

    /// <summary>"FROM:&lt;a@b&gt; SIZE=1" → a@b and its parameters; the angle brackets may be missing (lenient, as many servers are).</summary>
    internal static bool TryPath(string argument, string prefix, out string address, out string[] parameters)
    {
        address = "";
        parameters = [];
        if (!argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var rest = argument[prefix.Length..].TrimStart();
        string path;
        if (rest.StartsWith('<'))
        {
            var close = rest.IndexOf('>');
            if (close < 0)
            {
                return false;
            }
            path = rest[1..close];
            rest = rest[(close + 1)..];
        }
        else
        {
            var space = rest.IndexOf(' ');
            path = space < 0 ? rest : rest[..space];
            rest = space < 0 ? "" : rest[space..];
        }
        // A source route (<@a,@b:user@c>) is ignored, as RFC 5321 4.1.1.3 allows.
        if (path.StartsWith('@') && path.IndexOf(':') is var colon and > 0)
        {
            path = path[(colon + 1)..];
        }
        if (path.Any(c => char.IsControl(c) || c == ' '))
        {
            return false;
        }
        address = path;
        parameters = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return true;
    }
}
