using System.Text;
using EmailProxy.Connections;
using EmailProxy.Sasl;
using EmailProxy.Smtp;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Pop3;

/// <summary>
/// One client's POP3 connection: the proxy answers CAPA, USER/PASS, AUTH PLAIN/LOGIN and QUIT
/// itself; after the upstream accepted the token every byte is relayed unchanged.
/// </summary>
internal sealed class Pop3Session(ConnectionContext connection, SessionEnvironment environment, Pop3UpstreamClient upstream, ILogger log)
    : MailSession(connection, environment, log)
{
    public const int MaxLineLength = 8 * 1024;

    private static readonly byte[] ShutdownNotice = "-ERR [SYS/TEMP] Email OAuth2 Proxy is shutting down\r\n"u8.ToArray();

    protected override string Protocol => "POP3";

    protected override async Task RunCoreAsync(CancellationToken loginWindow, CancellationToken session)
    {
        await WriteAsync("+OK Email OAuth2 Proxy POP3 ready", loginWindow);
        string? user = null;
        while (true)
        {
            string? line;
            try
            {
                line = await ReadLineAsync(loginWindow);
            }
            catch (LineTooLongException)
            {
                SetOutcome("line too long");
                await SayGoodbyeAsync($"-ERR Line too long: the limit before login is {MaxLineLength} bytes; closing");
                return;
            }
            catch (OperationCanceledException) when (loginWindow.IsCancellationRequested)
            {
                SetOutcome(TimedOut ? "no login within 60 seconds" : "the proxy is shutting down");
                await SayGoodbyeAsync(TimedOut ? "-ERR Autologout: no login within 60 seconds" : "-ERR [SYS/TEMP] Email OAuth2 Proxy is shutting down");
                return;
            }
            if (line is null)
            {
                return;
            }
            // POP3 commands are a keyword and arguments, like SMTP's: the same split serves.
            var (verb, argument) = SmtpCommand.Parse(line);
            SessionLog.ClientCommand(Log, Protocol, Client, "-", verb);

            ClientCredentials? credentials = null;
            switch (verb)
            {
                case "CAPA":
                    await WriteAsync($"+OK Capability list follows\r\nUSER\r\nSASL PLAIN LOGIN\r\n{(CanStartTls ? "STLS\r\n" : "")}IMPLEMENTATION Email-OAuth2-Proxy\r\n.", loginWindow);
                    continue;
                case "STLS" when CanStartTls:
                    if (!await StartTlsAsync("+OK Begin TLS negotiation", loginWindow))
                    {
                        return;
                    }
                    user = null;
                    continue;
                case "STLS":
                    await WriteAsync($"-ERR STLS is not available {(IsTls ? "under TLS" : "on this port")}", loginWindow);
                    continue;
                case "USER" when argument.Length > 0:
                    user = argument;
                    await WriteAsync("+OK Send PASS", loginWindow);
                    continue;
                case "PASS" when user is null:
                    await WriteAsync("-ERR Send USER first", loginWindow);
                    continue;
                case "PASS":
                    // The password is the rest of the line, spaces included (RFC 1939).
                    credentials = new ClientCredentials(user, line.TrimStart()[4..].TrimStart(' '));
                    user = null;
                    break;
                case "AUTH" when argument.Length == 0:
                    await WriteAsync("+OK\r\nPLAIN\r\nLOGIN\r\n.", loginWindow);
                    continue;
                case "AUTH":
                    credentials = await AuthenticateAsync(argument, loginWindow);
                    break;
                case "QUIT":
                    SetOutcome("quit before login");
                    await WriteAsync("+OK Email OAuth2 Proxy signing off", loginWindow);
                    return;
                case "NOOP":
                    await WriteAsync("+OK", loginWindow);
                    continue;
                default:
                    await WriteAsync($"-ERR {(verb.Length == 0 ? "Empty command" : "Log in first: USER/PASS or AUTH PLAIN/LOGIN")}", loginWindow);
                    continue;
            }
            if (credentials is not null && await LoginAndRelayAsync(credentials, session))
            {
                return;
            }
        }
    }

    private async Task<ClientCredentials?> AuthenticateAsync(string argument, CancellationToken cancellationToken)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = await SaslServer.NegotiateAsync(parts[0], parts.Length > 1 ? parts[1] : null, async (prompt, ct) =>
        {
            await WriteAsync(prompt.Length == 0 ? "+ " : $"+ {prompt}", ct);
            return await ReadLineAsync(ct);
        }, cancellationToken);
        var answer = result.Failure switch
        {
            SaslFailure.None or SaslFailure.ClientGone => null,
            SaslFailure.Cancelled => "-ERR Authentication cancelled",
            SaslFailure.UnknownMechanism => "-ERR Unsupported mechanism; use PLAIN or LOGIN",
            _ => "-ERR Cannot decode the AUTH response",
        };
        if (answer is not null)
        {
            await WriteAsync(answer, cancellationToken);
        }
        return result.Credentials;
    }

    /// <summary>True when the session is over (relayed to its end); false when the client may try again.</summary>
    private async Task<bool> LoginAndRelayAsync(ClientCredentials credentials, CancellationToken session)
    {
        var outcome = await Environment.Logins.LoginAsync(Protocol, credentials.Username, credentials.Password, static s => s.PopHost,
            upstream.LoginAsync, session);
        if (!outcome.Succeeded)
        {
            LoginFailed(credentials.Username, outcome);
            await WriteAsync($"-ERR [{(outcome.IsTemporary ? "SYS/TEMP" : "AUTH")}] {outcome.Message}", session);
            return false;
        }
        LoginSucceeded(outcome);
        await WriteAsync("+OK Logged in through Email OAuth2 Proxy", session);
        await RelayAsync(outcome, ShutdownNotice);
        return true;
    }

    private async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await Input.ReadLineAsync(MaxLineLength, cancellationToken);
        return line is null ? null : Encoding.UTF8.GetString(line);
    }
}
