using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.Sasl;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>
/// One client's IMAP connection: the proxy answers everything up to a successful login itself,
/// then relays bytes. Commands the client pipelined behind its login stay in the pipe and go
/// upstream only after the upstream accepted the token.
/// </summary>
internal sealed class ImapSession(ConnectionContext connection, SessionEnvironment environment, ImapProtocol protocol, ILogger log)
    : MailSession(connection, environment, protocol, log)
{
    public const string PreLoginCapabilities = "IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN AUTH=LOGIN";

    private static readonly IReadOnlySet<string> KnownCommands = new HashSet<string>(
    [
        "CAPABILITY", "NOOP", "ID", "STARTTLS", "LOGOUT", "LOGIN", "AUTHENTICATE", "SELECT", "EXAMINE", "LIST", "LSUB",
        "STATUS", "APPEND", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "NAMESPACE", "ENABLE", "IDLE", "UID",
        "FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE", "CLOSE", "UNSELECT", "CHECK", "COMPRESS",
    ], StringComparer.Ordinal);


    private ImapCommandReader? _reader;
    private long _peakOfEarlierReaders;

    private string Capabilities => CanStartTls ? PreLoginCapabilities + " STARTTLS" : PreLoginCapabilities;

    protected override long PreLoginPeakBytes => Math.Max(_peakOfEarlierReaders, _reader?.PeakHeldBytes ?? 0);

    protected override long PreLoginLimitBytes => ImapCommandReader.MaxHeldBytes;

    protected override async Task RunCoreAsync(CancellationToken loginWindow)
    {
        var reader = NewReader();
        await WriteAsync($"* OK [CAPABILITY {Capabilities}] Email OAuth2 Proxy ready", loginWindow);
        await RefuseTlsHandshakeAsync(loginWindow);

        while (true)
        {
            ImapCommand? command;
            try
            {
                command = await reader.ReadCommandAsync(loginWindow);
            }
            catch (ImapSyntaxException e)
            {
                await RefuseAsync($"{e.Tag ?? "*"} BAD {e.Message}", loginWindow);
                continue;
            }
            if (command is null)
            {
                return;
            }
            SessionLog.ClientCommand(Log, Protocol, Client, command.Name, KnownCommands);

            ClientCredentials? credentials = null;
            switch (command.Name)
            {
                case "CAPABILITY":
                    await WriteAsync($"* CAPABILITY {Capabilities}\r\n{command.Tag} OK CAPABILITY completed", loginWindow);
                    continue;
                case "NOOP":
                    await WriteAsync($"{command.Tag} OK NOOP completed", loginWindow);
                    continue;
                case "ID":
                    await WriteAsync($"* ID (\"name\" \"Email OAuth2 Proxy\" \"version\" \"{SessionEnvironment.Version}\")\r\n{command.Tag} OK ID completed", loginWindow);
                    continue;
                case "STARTTLS" when CanStartTls:
                    if (!await StartTlsAsync($"{command.Tag} OK Begin TLS negotiation now", loginWindow))
                    {
                        return;
                    }
                    reader = NewReader();
                    continue;
                case "STARTTLS":
                    await RefuseAsync($"{command.Tag} BAD STARTTLS is not available {(IsTls ? "under TLS" : "on this port")}", loginWindow);
                    continue;
                case "LOGOUT":
                    SetOutcome("logged out before login");
                    await WriteAsync($"* BYE Email OAuth2 Proxy logging out\r\n{command.Tag} OK LOGOUT completed", loginWindow);
                    return;
                case "LOGIN":
                    credentials = ParseLogin(command);
                    if (credentials is null)
                    {
                        await RefuseAsync($"{command.Tag} BAD LOGIN needs a user name and a password", loginWindow);
                    }
                    break;
                case "AUTHENTICATE":
                    credentials = await AuthenticateAsync(reader, command, loginWindow);
                    break;
                default:
                    await RefuseAsync($"{command.Tag} BAD {ClientText.Sanitize(command.Name, 40)} is not available before login; log in with LOGIN or AUTHENTICATE PLAIN", loginWindow);
                    continue;
            }
            if (credentials is not null && await LoginAndRelayAsync(credentials, command.Tag))
            {
                return;
            }
        }
    }

    protected override string Farewell(SessionEnd end, string detail) => end switch
    {
        SessionEnd.Limit => $"* BYE {detail}",
        SessionEnd.TimedOut => "* BYE Autologout: no login within 60 seconds",
        SessionEnd.RetryTimedOut => "* BYE Autologout: no new login after the failed one",
        SessionEnd.CrossProtocol => $"* BYE {CrossProtocol.Refusal}",
        _ => "* BYE Email OAuth2 Proxy is shutting down",
    };

    protected override string LoginFailedReply(string tag, LoginOutcome outcome) =>
        $"{tag} NO [{(outcome.IsTemporary ? "UNAVAILABLE" : "AUTHENTICATIONFAILED")}] {outcome.Message}";

    /// <summary>The tagged OK carries the upstream's capabilities (those of an authenticated session).</summary>
    protected override string LoginSucceededReply(string tag, LoginOutcome outcome) =>
        string.IsNullOrWhiteSpace(outcome.Upstream!.Capabilities)
            ? $"{tag} OK Logged in through Email OAuth2 Proxy"
            : $"{tag} OK [CAPABILITY {outcome.Upstream.Capabilities}] Logged in through Email OAuth2 Proxy";

    /// <summary>A new reader (at the start, and after STARTTLS); the peak of the one it replaces is kept.</summary>
    private ImapCommandReader NewReader()
    {
        _peakOfEarlierReaders = PreLoginPeakBytes;
        return _reader = new(Input, ct => WriteAsync("+ Ready for literal data", ct));
    }

    /// <summary>LOGIN's two arguments (atoms, quoted strings or literals); null when there are not exactly two strings.</summary>
    private static ClientCredentials? ParseLogin(ImapCommand command)
    {
        var args = command.Arguments;
        return args.Count == 2 && args[0].IsString && args[1].IsString ? new ClientCredentials(args[0].Text, args[1].Text) : null;
    }

    private async Task<ClientCredentials?> AuthenticateAsync(ImapCommandReader reader, ImapCommand command, CancellationToken cancellationToken)
    {
        var args = command.Arguments;
        if (args.Count is < 1 or > 2 || args.Any(a => a.Kind != ImapTokenKind.Atom))
        {
            await RefuseAsync($"{command.Tag} BAD AUTHENTICATE needs a mechanism name", cancellationToken);
            return null;
        }
        var mechanism = args[0].Text.ToUpperInvariant();
        return await AuthenticateAsync(mechanism, args.Count == 2 ? args[1].Text : null, "+ ",
            async ct => await reader.ReadLineAsync(ct) is { } line ? Encoding.UTF8.GetString(line) : null,
            failure => failure switch
            {
                SaslFailure.Cancelled => $"{command.Tag} BAD AUTHENTICATE cancelled",
                SaslFailure.UnknownMechanism => $"{command.Tag} NO [CANNOT] Mechanism {ClientText.Sanitize(mechanism, 40)} is not supported; use PLAIN or LOGIN",
                SaslFailure.ClientGone => null,
                _ => $"{command.Tag} BAD Invalid SASL response",
            },
            cancellationToken);
    }
}
