using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Sasl;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>
/// One client's SMTP connection: the proxy answers EHLO/HELO, NOOP, RSET, QUIT, STARTTLS and AUTH
/// itself; after the upstream accepted the token (235) every byte is relayed unchanged, so several
/// transactions, pipelining, dot-stuffed DATA and 8-bit or binary content pass as they are.
/// </summary>
internal sealed class SmtpSession(ConnectionContext connection, SessionEnvironment environment, SmtpProtocol protocol, ILogger log)
    : MailSession(connection, environment, protocol, log)
{
    /// <summary>
    /// What EHLO advertises must hold upstream, since after AUTH the client talks to the upstream
    /// through the relay without a new EHLO. Exchange Online, Gmail and Dovecot's submission all
    /// offer these; SIZE is Gmail's limit, the smallest of them (Exchange Online takes 36 MiB).
    /// </summary>
    public static readonly string[] Extensions = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 35882577", "AUTH PLAIN LOGIN"];

    private static readonly IReadOnlySet<string> KnownCommands = new HashSet<string>(
        ["EHLO", "HELO", "NOOP", "RSET", "QUIT", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "VRFY", "EXPN", "HELP", "ETRN"], StringComparer.Ordinal);

    protected override async Task RunCoreAsync(CancellationToken loginWindow)
    {
        await WriteAsync($"220 {HostIdentity.Name} Email OAuth2 Proxy ESMTP ready", loginWindow);
        await RefuseTlsHandshakeAsync(loginWindow);
        var greeted = false;
        while (await ReadCommandLineAsync(loginWindow) is { } line)
        {
            var (verb, argument) = SmtpCommand.Parse(line);
            SessionLog.ClientCommand(Log, Protocol, Client, verb, KnownCommands);
            switch (verb)
            {
                case "EHLO":
                    greeted = true;
                    await WriteAsync(MultiLine(250, null, [$"{HostIdentity.Name} Hello {Sanitize(argument)}", .. CanStartTls ? ["STARTTLS", .. Extensions] : Extensions]), loginWindow);
                    break;
                case "HELO":
                    greeted = true;
                    await WriteAsync($"250 {HostIdentity.Name} Hello {Sanitize(argument)}", loginWindow);
                    break;
                case "NOOP":
                    await WriteAsync("250 2.0.0 OK", loginWindow);
                    break;
                case "RSET":
                    await WriteAsync("250 2.0.0 Reset", loginWindow);
                    break;
                case "QUIT":
                    SetOutcome("quit before AUTH");
                    await WriteAsync("221 2.0.0 Bye", loginWindow);
                    return;
                case "STARTTLS" when CanStartTls:
                    if (!await StartTlsAsync("220 2.0.0 Ready to start TLS", loginWindow))
                    {
                        return;
                    }
                    // RFC 3207: the client starts over with EHLO, and learns the extensions anew.
                    greeted = false;
                    break;
                case "STARTTLS":
                    await RefuseAsync(IsTls ? "503 5.5.1 TLS is already active" : "502 5.5.1 STARTTLS is not offered on this port", loginWindow);
                    break;
                case "AUTH" when !greeted:
                    await RefuseAsync("503 5.5.1 Send EHLO first", loginWindow);
                    break;
                case "AUTH":
                    var credentials = await AuthenticateAsync(argument, loginWindow);
                    if (credentials is not null && await LoginAndRelayAsync(credentials, ""))
                    {
                        return;
                    }
                    break;
                case "MAIL" or "RCPT" or "DATA" or "BDAT":
                    // DATA is refused, so what the client sends behind it is read as commands: each
                    // line of its message is one more unknown command, never buffered.
                    await RefuseAsync("530 5.7.0 Authentication required", loginWindow);
                    break;
                case "VRFY" or "EXPN" or "HELP" or "ETRN":
                    await RefuseAsync($"502 5.5.1 {verb} is not available before AUTH", loginWindow);
                    break;
                default:
                    await RefuseAsync("500 5.5.2 Command not recognized", loginWindow);
                    break;
            }
        }
    }

    protected override string Farewell(SessionEnd end, string detail) => end switch
    {
        SessionEnd.Limit => $"421 4.7.0 {detail}; closing",
        SessionEnd.TimedOut => "421 4.4.2 No authentication within 60 seconds; closing",
        SessionEnd.RetryTimedOut => "421 4.4.2 No new authentication after the failed one; closing",
        SessionEnd.CrossProtocol => $"421 4.7.0 {CrossProtocol.Refusal}",
        _ => "421 4.3.2 Email OAuth2 Proxy is shutting down",
    };

    /// <summary>Exchange refuses Send As only after the login, at MAIL FROM or at the end of DATA: the relayed replies are watched for it.</summary>
    protected override Action<ReadOnlySpan<byte>>? WatchRelayedReplies(AccountOptions account) =>
        new SmtpReplyWatcher(account, Client, Log, Environment.Activity).Observe;

    /// <summary>An account that sends through Microsoft Graph: the proxy is the SMTP server from here on (<see cref="SmtpTransactionServer"/>).</summary>
    protected override async Task<string> ServeWithoutUpstreamAsync(AccountOptions account, CancellationToken stopping)
    {
        var graph = ((SmtpProtocol)MailProtocol).Graph ?? throw new InvalidOperationException("SMTP through Graph without a Graph route");
        var server = new SmtpTransactionServer(Input, WriteAsync, (spool, envelope, ct) => graph.SendAsync(account, spool, envelope, ct), Environment.Time);
        try
        {
            return await server.RunAsync(stopping);
        }
        finally
        {
            // Also when the client vanished midway: the end line says how far it got.
            SetSessionBytes(server.BytesFromClient, server.BytesToClient);
        }
    }

    protected override string LoginFailedReply(string tag, LoginOutcome outcome) =>
        outcome.IsTemporary ? MultiLine(454, "4.7.0", [outcome.Message]) : MultiLine(535, "5.7.8", [outcome.Message]);

    protected override string LoginSucceededReply(string tag, LoginOutcome outcome) => "235 2.7.0 Authentication successful";

    private async Task<ClientCredentials?> AuthenticateAsync(string argument, CancellationToken cancellationToken)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2)
        {
            await RefuseAsync("501 5.5.4 AUTH needs a mechanism: PLAIN or LOGIN", cancellationToken);
            return null;
        }
        return await AuthenticateAsync(parts[0], parts.Length == 2 ? parts[1] : null, "334 ", ReadLineAsync, failure => failure switch
        {
            SaslFailure.None or SaslFailure.ClientGone => null,
            SaslFailure.Cancelled => "501 5.7.0 Authentication cancelled",
            SaslFailure.UnknownMechanism => $"504 5.5.4 Mechanism {Sanitize(parts[0].ToUpperInvariant())} is not supported; use PLAIN or LOGIN",
            _ => "501 5.5.2 Cannot decode the AUTH response",
        }, cancellationToken);
    }

    /// <summary>
    /// A reply in lines of at most 400 bytes of text (RFC 5321 allows 512 with the code and CRLF),
    /// split at spaces so that a URL stays whole: <c>535-5.7.8 …</c> … <c>535 5.7.8 …</c>.
    /// </summary>
    internal static string MultiLine(int code, string? enhanced, IReadOnlyList<string> texts)
    {
        const int MaxTextBytes = 400;
        var lines = new List<string>();
        foreach (var text in texts)
        {
            var rest = text;
            while (Encoding.UTF8.GetByteCount(rest) > MaxTextBytes)
            {
                var fits = Math.Min(rest.Length, MaxTextBytes);
                while (Encoding.UTF8.GetByteCount(rest.AsSpan(0, fits)) > MaxTextBytes)
                {
                    fits--;
                }
                var cut = rest.LastIndexOf(' ', fits);
                if (cut <= 0)
                {
                    // One word longer than a line (a very long URL): kept whole rather than broken.
                    cut = rest.IndexOf(' ', fits);
                }
                if (cut <= 0)
                {
                    break;
                }
                lines.Add(rest[..cut]);
                rest = rest[(cut + 1)..];
            }
            lines.Add(rest);
        }
        var prefix = enhanced is null ? "" : enhanced + " ";
        var reply = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            reply.Append(code).Append(i == lines.Count - 1 ? ' ' : '-').Append(prefix).Append(lines[i]);
            if (i < lines.Count - 1)
            {
                reply.Append("\r\n");
            }
        }
        return reply.ToString();
    }

    /// <summary>
    /// A client-supplied word echoed back (an EHLO name, a mechanism): <see cref="ClientText.Sanitize"/>,
    /// then printable ASCII only, since SMTP replies are ASCII: one word, bounded.
    /// </summary>
    internal static string Sanitize(string text)
    {
        var clean = new string([.. ClientText.Sanitize(text).Where(c => c is > ' ' and < '\u007f')]);
        return clean.Length == 0 ? "there" : clean;
    }
}
