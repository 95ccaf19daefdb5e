using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.Sasl;
using EmailProxy.Smtp;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Pop3;

/// <summary>
/// One client's POP3 connection: the proxy answers CAPA, USER/PASS, AUTH PLAIN/LOGIN, STLS and
/// QUIT itself; after the upstream accepted the token every byte is relayed unchanged.
/// </summary>
internal sealed class Pop3Session(ConnectionContext connection, SessionEnvironment environment, Pop3Protocol protocol, ILogger log)
    : MailSession(connection, environment, protocol, log)
{
    private static readonly IReadOnlySet<string> KnownCommands = new HashSet<string>(
        ["CAPA", "STLS", "USER", "PASS", "AUTH", "APOP", "QUIT", "NOOP", "STAT", "LIST", "RETR", "DELE", "TOP", "UIDL", "RSET"], StringComparer.Ordinal);

    protected override async Task RunCoreAsync(CancellationToken loginWindow)
    {
        await WriteAsync("+OK Email OAuth2 Proxy POP3 ready", loginWindow);
        await RefuseTlsHandshakeAsync(loginWindow);
        string? user = null;
        while (await ReadCommandLineAsync(loginWindow) is { } line)
        {
            // POP3 commands are a keyword and arguments, like SMTP's: the same split serves.
            var (verb, argument) = SmtpCommand.Parse(line);
            SessionLog.ClientCommand(Log, Protocol, Client, verb, KnownCommands);

            ClientCredentials? credentials = null;
            switch (verb)
            {
                case "CAPA":
                    await WriteAsync($"+OK Capability list follows\r\nUSER\r\nSASL PLAIN LOGIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n{(CanStartTls ? "STLS\r\n" : "")}IMPLEMENTATION Email-OAuth2-Proxy\r\n.", loginWindow);
                    continue;
                case "STLS" when CanStartTls:
                    if (!await StartTlsAsync("+OK Begin TLS negotiation", loginWindow))
                    {
                        return;
                    }
                    user = null;
                    continue;
                case "STLS":
                    await RefuseAsync($"-ERR STLS is not available {(IsTls ? "under TLS" : "on this port")}", loginWindow);
                    continue;
                case "USER" when argument.Length == 0:
                    await RefuseAsync("-ERR USER needs a user name", loginWindow);
                    continue;
                case "USER":
                    user = argument;
                    await WriteAsync("+OK Send PASS", loginWindow);
                    continue;
                case "PASS" when user is null:
                    await RefuseAsync("-ERR Send USER first", loginWindow);
                    continue;
                case "PASS":
                    // The password is the rest of the line after one space, spaces included (RFC 1939).
                    var rest = line.TrimStart()[4..];
                    credentials = new ClientCredentials(user, rest.StartsWith(' ') ? rest[1..] : rest);
                    user = null;
                    break;
                case "AUTH" when argument.Length == 0:
                    await WriteAsync("+OK\r\nPLAIN\r\nLOGIN\r\n.", loginWindow);
                    continue;
                case "AUTH" when argument.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > 2:
                    await RefuseAsync("-ERR AUTH takes a mechanism and at most an initial response", loginWindow);
                    continue;
                case "AUTH":
                    var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    credentials = await AuthenticateAsync(parts[0], parts.Length > 1 ? parts[1] : null, "+ ", ReadLineAsync, failure => failure switch
                    {
                        SaslFailure.None or SaslFailure.ClientGone => null,
                        SaslFailure.Cancelled => "-ERR Authentication cancelled",
                        SaslFailure.UnknownMechanism => "-ERR Unsupported mechanism; use PLAIN or LOGIN",
                        _ => "-ERR Cannot decode the AUTH response",
                    }, loginWindow);
                    break;
                case "QUIT":
                    SetOutcome("quit before login");
                    await WriteAsync("+OK Email OAuth2 Proxy signing off", loginWindow);
                    return;
                case "NOOP":
                    await WriteAsync("+OK", loginWindow);
                    continue;
                default:
                    await RefuseAsync($"-ERR {(verb.Length == 0 ? "Empty command" : "Log in first: USER/PASS or AUTH PLAIN/LOGIN")}", loginWindow);
                    continue;
            }
            if (credentials is not null && await LoginAndRelayAsync(credentials, ""))
            {
                return;
            }
        }
    }

    protected override string Farewell(SessionEnd end, string detail) => end switch
    {
        SessionEnd.Limit => $"-ERR {detail}; closing",
        SessionEnd.TimedOut => "-ERR Autologout: no login within 60 seconds",
        SessionEnd.RetryTimedOut => "-ERR Autologout: no new login after the failed one",
        SessionEnd.CrossProtocol => $"-ERR {CrossProtocol.Refusal}",
        _ => "-ERR [SYS/TEMP] Email OAuth2 Proxy is shutting down",
    };

    protected override string LoginFailedReply(string tag, LoginOutcome outcome) =>
        $"-ERR [{(outcome.IsTemporary ? "SYS/TEMP" : "AUTH")}] {outcome.Message}";

    protected override string LoginSucceededReply(string tag, LoginOutcome outcome) => "+OK Logged in through Email OAuth2 Proxy";
}
