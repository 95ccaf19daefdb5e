using System.Text;
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
internal sealed class ImapSession(ConnectionContext connection, SessionEnvironment environment, ImapUpstreamClient upstream, ILogger log)
    : MailSession(connection, environment, log)
{
    public const string PreLoginCapabilities = "IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN AUTH=LOGIN";

    private static readonly byte[] ShutdownNotice = "* BYE Email OAuth2 Proxy is shutting down\r\n"u8.ToArray();

    protected override string Protocol => "IMAP";

    private string Capabilities => CanStartTls ? PreLoginCapabilities + " STARTTLS" : PreLoginCapabilities;

    protected override async Task RunCoreAsync(CancellationToken loginWindow, CancellationToken session)
    {
        var reader = NewReader();
        await WriteAsync($"* OK [CAPABILITY {Capabilities}] Email OAuth2 Proxy ready", loginWindow);

        while (true)
        {
            ImapCommand? command;
            try
            {
                command = await reader.ReadCommandAsync(loginWindow);
            }
            catch (ImapSyntaxException e)
            {
                await WriteAsync($"{e.Tag ?? "*"} BAD {e.Message}", loginWindow);
                continue;
            }
            catch (ImapLimitException e)
            {
                SetOutcome(e.Message);
                await SayGoodbyeAsync($"* BYE {e.Message}");
                return;
            }
            catch (OperationCanceledException) when (loginWindow.IsCancellationRequested)
            {
                SetOutcome(TimedOut ? "no login within 60 seconds" : "the proxy is shutting down");
                await SayGoodbyeAsync(TimedOut ? "* BYE Autologout: no login within 60 seconds" : "* BYE Email OAuth2 Proxy is shutting down");
                return;
            }
            if (command is null)
            {
                return;
            }
            SessionLog.ClientCommand(Log, Protocol, Client, command.Tag, command.Name);

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
                    await WriteAsync($"* ID (\"name\" \"Email OAuth2 Proxy\" \"version\" \"{Environment.Version}\")\r\n{command.Tag} OK ID completed", loginWindow);
                    continue;
                case "STARTTLS" when CanStartTls:
                    if (!await StartTlsAsync($"{command.Tag} OK Begin TLS negotiation now", loginWindow))
                    {
                        return;
                    }
                    reader = NewReader();
                    continue;
                case "STARTTLS":
                    await WriteAsync($"{command.Tag} BAD STARTTLS is not available {(IsTls ? "under TLS" : "on this port")}", loginWindow);
                    continue;
                case "LOGOUT":
                    SetOutcome("logged out before login");
                    await WriteAsync($"* BYE Email OAuth2 Proxy logging out\r\n{command.Tag} OK LOGOUT completed", loginWindow);
                    return;
                case "LOGIN":
                    credentials = ParseLogin(command);
                    if (credentials is null)
                    {
                        await WriteAsync($"{command.Tag} BAD LOGIN needs a user name and a password", loginWindow);
                    }
                    break;
                case "AUTHENTICATE":
                    credentials = await AuthenticateAsync(reader, command, loginWindow);
                    break;
                default:
                    await WriteAsync($"{command.Tag} BAD {command.Name} is not available before login; log in with LOGIN or AUTHENTICATE PLAIN", loginWindow);
                    continue;
            }
            if (credentials is not null && await LoginAndRelayAsync(command.Tag, credentials, session))
            {
                return;
            }
        }
    }

    private ImapCommandReader NewReader() => new(Input, ct => WriteAsync("+ Ready for literal data", ct));

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
            await WriteAsync($"{command.Tag} BAD AUTHENTICATE needs a mechanism name", cancellationToken);
            return null;
        }
        var result = await SaslServer.NegotiateAsync(
            args[0].Text,
            args.Count == 2 ? args[1].Text : null,
            async (prompt, ct) =>
            {
                await WriteAsync(prompt.Length == 0 ? "+ " : $"+ {prompt}", ct);
                var line = await reader.ReadLineAsync(ct);
                return line is null ? null : Encoding.UTF8.GetString(line);
            },
            cancellationToken);
        if (result.Credentials is null)
        {
            var answer = result.Failure switch
            {
                SaslFailure.Cancelled => "BAD AUTHENTICATE cancelled",
                SaslFailure.UnknownMechanism => $"NO [CANNOT] Mechanism {args[0].Text.ToUpperInvariant()} is not supported; use PLAIN or LOGIN",
                SaslFailure.ClientGone => null,
                _ => "BAD Invalid SASL response",
            };
            if (answer is not null)
            {
                await WriteAsync($"{command.Tag} {answer}", cancellationToken);
            }
        }
        return result.Credentials;
    }

    /// <summary>True when the session is over (relayed to its end); false when the client may try again.</summary>
    private async Task<bool> LoginAndRelayAsync(string tag, ClientCredentials credentials, CancellationToken session)
    {
        var outcome = await Environment.Logins.LoginAsync(Protocol, credentials.Username, credentials.Password, static s => s.ImapHost,
            upstream.LoginAsync, session);
        if (!outcome.Succeeded)
        {
            LoginFailed(credentials.Username, outcome);
            var code = outcome.IsTemporary ? "UNAVAILABLE" : "AUTHENTICATIONFAILED";
            await WriteAsync($"{tag} NO [{code}] {outcome.Message}", session);
            return false;
        }
        LoginSucceeded(outcome);
        var capabilities = string.IsNullOrWhiteSpace(outcome.Upstream!.Capabilities) ? "" : $"[CAPABILITY {outcome.Upstream.Capabilities}] ";
        await WriteAsync($"{tag} OK {capabilities}Logged in through Email OAuth2 Proxy", session);
        await RelayAsync(outcome, ShutdownNotice);
        return true;
    }
}
