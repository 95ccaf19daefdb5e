using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.Relay;
using EmailProxy.Sasl;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>
/// One client's IMAP connection: the proxy answers everything up to a successful login itself,
/// then relays bytes. Commands the client pipelined behind its login stay in the pipe and go
/// upstream only after the upstream accepted the token.
/// </summary>
internal sealed class ImapSession(ConnectionContext connection, ImapSessionServices services)
{
    public const string Protocol = "IMAP";
    public const string PreLoginCapabilities = "IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN AUTH=LOGIN";
    public static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(60);

    private static readonly byte[] ShutdownNotice = "* BYE Email OAuth2 Proxy is shutting down\r\n"u8.ToArray();

    private readonly PipeWriter _output = connection.Transport.Output;
    private readonly string _client = connection.RemoteEndPoint?.ToString() ?? "unknown";
    private string _account = "-";
    private string _result = "closed before login";
    private long _bytesIn;
    private long _bytesOut;

    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var stopping = services.Stopping;
        try
        {
            await RunCoreAsync(stopping);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException)
        {
            _result = $"connection lost: {e.Message}";
        }
        catch (OperationCanceledException)
        {
            _result = services.Stopping.IsCancellationRequested ? "the proxy is shutting down" : "the client went away";
        }
        catch (Exception e)
        {
            _result = "internal error";
            SessionLog.SessionFailed(services.Log, e, Protocol, _client);
        }
        finally
        {
            var durationMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            SessionLog.SessionEnded(services.Log, Protocol, _client, _account, _result, _bytesIn, _bytesOut, durationMs);
        }
    }

    private async Task RunCoreAsync(CancellationToken stopping)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stopping, connection.ConnectionClosed);
        using var loginWindow = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
        loginWindow.CancelAfter(LoginTimeout);
        var reader = new ImapCommandReader(connection.Transport.Input, ct => WriteAsync("+ Ready for literal data", ct));
        await WriteAsync($"* OK [CAPABILITY {PreLoginCapabilities}] Email OAuth2 Proxy ready", loginWindow.Token);

        while (true)
        {
            ImapCommand? command;
            try
            {
                command = await reader.ReadCommandAsync(loginWindow.Token);
            }
            catch (ImapSyntaxException e)
            {
                await WriteAsync($"{e.Tag ?? "*"} BAD {e.Message}", loginWindow.Token);
                continue;
            }
            catch (ImapLimitException e)
            {
                _result = e.Message;
                await ByeAsync(e.Message);
                return;
            }
            catch (OperationCanceledException) when (!connection.ConnectionClosed.IsCancellationRequested)
            {
                _result = stopping.IsCancellationRequested ? "the proxy is shutting down" : "no login within 60 seconds";
                await ByeAsync(stopping.IsCancellationRequested ? "Email OAuth2 Proxy is shutting down" : "Autologout: no login within 60 seconds");
                return;
            }
            if (command is null)
            {
                return;
            }
            SessionLog.ClientCommand(services.Log, Protocol, _client, command.Tag, command.Name);

            ClientCredentials? credentials;
            switch (command.Name)
            {
                case "CAPABILITY":
                    await WriteAsync($"* CAPABILITY {PreLoginCapabilities}\r\n{command.Tag} OK CAPABILITY completed", loginWindow.Token);
                    continue;
                case "NOOP":
                    await WriteAsync($"{command.Tag} OK NOOP completed", loginWindow.Token);
                    continue;
                case "ID":
                    await WriteAsync($"* ID (\"name\" \"Email OAuth2 Proxy\" \"version\" \"{services.Version}\")\r\n{command.Tag} OK ID completed", loginWindow.Token);
                    continue;
                case "LOGOUT":
                    _result = "logged out before login";
                    await WriteAsync($"* BYE Email OAuth2 Proxy logging out\r\n{command.Tag} OK LOGOUT completed", loginWindow.Token);
                    return;
                case "LOGIN":
                    credentials = ParseLogin(command);
                    if (credentials is null)
                    {
                        await WriteAsync($"{command.Tag} BAD LOGIN needs a user name and a password", loginWindow.Token);
                    }
                    break;
                case "AUTHENTICATE":
                    credentials = await AuthenticateAsync(reader, command, loginWindow.Token);
                    break;
                default:
                    await WriteAsync($"{command.Tag} BAD {command.Name} is not available before login; log in with LOGIN or AUTHENTICATE PLAIN", loginWindow.Token);
                    continue;
            }
            if (credentials is null)
            {
                continue;
            }
            if (await LoginAndRelayAsync(command.Tag, credentials, session.Token, stopping))
            {
                return;
            }
        }
    }

    private static ClientCredentials? ParseLogin(ImapCommand command)
    {
        var args = command.Arguments;
        return args.Count == 2 && args[0].IsString && args[1].IsString ? new ClientCredentials(args[0].Text, args[1].Text) : null;
    }

    private async Task<ClientCredentials?> AuthenticateAsync(ImapCommandReader reader, ImapCommand command, CancellationToken cancellationToken)
    {
        var args = command.Arguments;
        if (args.Count is < 1 or > 2 || args[0].Kind != ImapTokenKind.Atom || (args.Count == 2 && args[1].Kind != ImapTokenKind.Atom))
        {
            await WriteAsync($"{command.Tag} BAD AUTHENTICATE needs a mechanism name", cancellationToken);
            return null;
        }
        var mechanism = args[0].Text.ToUpperInvariant();
        var initial = args.Count == 2 ? args[1].Text : null;
        switch (mechanism)
        {
            case "PLAIN":
            {
                var message = initial ?? await ChallengeAsync(reader, command.Tag, "", cancellationToken);
                if (message is null)
                {
                    return null;
                }
                var decoded = SaslCredentials.DecodeBase64(message);
                var credentials = decoded is null ? null : SaslCredentials.ParsePlain(decoded);
                if (credentials is null)
                {
                    await WriteAsync($"{command.Tag} BAD Invalid PLAIN response", cancellationToken);
                }
                return credentials;
            }
            case "LOGIN":
            {
                var user = initial ?? await ChallengeAsync(reader, command.Tag, SaslCredentials.LoginUserPrompt, cancellationToken);
                if (user is null)
                {
                    return null;
                }
                var password = await ChallengeAsync(reader, command.Tag, SaslCredentials.LoginPasswordPrompt, cancellationToken);
                if (password is null)
                {
                    return null;
                }
                var userBytes = SaslCredentials.DecodeBase64(user);
                var passwordBytes = SaslCredentials.DecodeBase64(password);
                if (userBytes is null || passwordBytes is null || userBytes.Length == 0)
                {
                    await WriteAsync($"{command.Tag} BAD Invalid LOGIN response", cancellationToken);
                    return null;
                }
                return new ClientCredentials(Encoding.UTF8.GetString(userBytes), Encoding.UTF8.GetString(passwordBytes));
            }
            default:
                await WriteAsync($"{command.Tag} NO [CANNOT] Mechanism {mechanism} is not supported; use PLAIN or LOGIN", cancellationToken);
                return null;
        }
    }

    /// <summary>Sends a continuation and reads the answer; null (already answered) when cancelled with <c>*</c>.</summary>
    private async Task<string?> ChallengeAsync(ImapCommandReader reader, string tag, string prompt, CancellationToken cancellationToken)
    {
        await WriteAsync(prompt.Length == 0 ? "+ " : $"+ {prompt}", cancellationToken);
        var line = await reader.ReadLineAsync(cancellationToken) ?? throw new ConnectionResetException("The client closed the connection during AUTHENTICATE.");
        var text = Encoding.UTF8.GetString(line);
        if (text.Trim() == "*")
        {
            await WriteAsync($"{tag} BAD AUTHENTICATE cancelled", cancellationToken);
            return null;
        }
        return text;
    }

    /// <summary>True when the session is over (relayed to its end); false when the client may try again.</summary>
    private async Task<bool> LoginAndRelayAsync(string tag, ClientCredentials credentials, CancellationToken sessionToken, CancellationToken stopping)
    {
        _account = credentials.Username;
        var outcome = await services.Logins.LoginAsync(Protocol, credentials.Username, credentials.Password, static s => s.ImapHost,
            services.Upstream.LoginAsync, sessionToken);
        if (!outcome.Succeeded)
        {
            SessionLog.LoginFailed(services.Log, Protocol, _client, credentials.Username, outcome.Message);
            _result = $"login failed ({outcome.Failure})";
            var code = outcome.IsTemporary ? "UNAVAILABLE" : "AUTHENTICATIONFAILED";
            await WriteAsync($"{tag} NO [{code}] {outcome.Message}", sessionToken);
            return false;
        }

        var account = outcome.Account!;
        _account = account.Name;
        await using var upstream = outcome.Upstream!.Connection!;
        SessionLog.LoginSucceeded(services.Log, Protocol, _client, account.Name, upstream.Endpoint);
        var capabilities = string.IsNullOrWhiteSpace(outcome.Upstream.Capabilities) ? "" : $"[CAPABILITY {outcome.Upstream.Capabilities}] ";
        await WriteAsync($"{tag} OK {capabilities}Logged in through Email OAuth2 Proxy", sessionToken);

        var relay = await ByteRelay.RunAsync(connection.Transport, upstream, ShutdownNotice, stopping);
        _bytesIn = relay.BytesFromClient;
        _bytesOut = relay.BytesToClient;
        _result = $"relayed, ended by {relay.EndReason}";
        return true;
    }

    private async Task ByeAsync(string text)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteAsync($"* BYE {text}", timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException)
        {
            // The client is gone; nothing more to tell it.
        }
    }

    private async ValueTask WriteAsync(string lines, CancellationToken cancellationToken)
    {
        await _output.WriteAsync(Encoding.UTF8.GetBytes(lines + "\r\n"), cancellationToken);
    }
}
