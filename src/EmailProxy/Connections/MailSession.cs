using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.LocalTls;
using EmailProxy.Relay;
using EmailProxy.Sasl;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// What every protocol's session shares: the pre-login time window and limits with their last
/// words, the outcome bookkeeping and its one log line, STARTTLS, the client's SASL exchange, and
/// the road from a login to the relay. A protocol supplies its dialogue and its texts.
/// </summary>
internal abstract class MailSession(ConnectionContext connection, SessionEnvironment environment, MailProtocol protocol, ILogger log)
{
    public static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(60);
    public const int MaxLineLength = 8 * 1024;

    private string _account = "-";
    private string _result = "closed before login";
    private long _bytesFromClient;
    private long _bytesToClient;

    /// <summary>The protocol's name, as log lines give it.</summary>
    protected string Protocol => MailProtocol.Name;
    protected MailProtocol MailProtocol { get; } = protocol;
    protected ConnectionContext Connection { get; } = connection;
    protected PipeReader Input => Connection.Transport.Input;
    protected ILogger Log { get; } = log;
    protected SessionEnvironment Environment { get; } = environment;
    protected CancellationToken Stopping { get; } = environment.Stopping;
    protected string Client { get; } = connection.RemoteEndPoint?.ToString() ?? "unknown";
    protected IPAddress? ClientAddress { get; } = (connection.RemoteEndPoint as IPEndPoint)?.Address;

    /// <summary>TLS is on for this port and the connection is not under it yet: STARTTLS/STLS may be offered.</summary>
    protected bool CanStartTls => Connection.Features.Get<LocalTlsFeature>()?.CanStartTls ?? false;

    protected bool IsTls => Connection.Features.Get<LocalTlsFeature>()?.IsTls ?? false;

    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        // Not ConnectionClosed: Kestrel raises it when the client half-closes (printf … | nc -N),
        // and such a client must still get its answers. A client that is gone shows as the end of
        // its input, or as a failed write.
        using var loginTimer = new CancellationTokenSource(LoginTimeout, Environment.Time);
        using var loginWindow = CancellationTokenSource.CreateLinkedTokenSource(Stopping, loginTimer.Token);
        try
        {
            await RunCoreAsync(loginWindow.Token);
        }
        catch (ProtocolLimitException e)
        {
            await EndAsync(SessionEnd.Limit, e.Message);
        }
        catch (OperationCanceledException) when (loginWindow.IsCancellationRequested)
        {
            await EndAsync(Stopping.IsCancellationRequested ? SessionEnd.ShuttingDown : SessionEnd.TimedOut, "");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            _result = $"connection lost: {e.Message}";
        }
        catch (Exception e)
        {
            _result = "internal error";
            SessionLog.SessionFailed(Log, e, Protocol, Client);
        }
        finally
        {
            var durationMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            SessionLog.SessionEnded(Log, Protocol, Client, _account, _result, _bytesFromClient, _bytesToClient, durationMs);
        }
    }

    /// <summary>
    /// The protocol's dialogue up to the login, then <see cref="LoginAndRelayAsync"/>. Reads and
    /// writes before the login use <paramref name="loginWindow"/>, which ends 60 s after the
    /// connect or on shutdown; its end, and a <see cref="ProtocolLimitException"/>, are answered here.
    /// </summary>
    protected abstract Task RunCoreAsync(CancellationToken loginWindow);

    /// <summary>The protocol's last line for a session that ends before a login.</summary>
    protected abstract string Farewell(SessionEnd end, string detail);

    /// <summary>The answer to a failed login; the message names the account, the cause and the fix.</summary>
    protected abstract string LoginFailedReply(string tag, LoginOutcome outcome);

    protected abstract string LoginSucceededReply(string tag, LoginOutcome outcome);

    protected void SetOutcome(string result) => _result = result;

    protected async ValueTask WriteAsync(string lines, CancellationToken cancellationToken) =>
        await Connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(lines + "\r\n"), cancellationToken);

    /// <summary>The next line of a line-based protocol (SMTP, POP3), at most <see cref="MaxLineLength"/>; null when the client closed.</summary>
    protected async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await Input.ReadLineAsync(MaxLineLength, cancellationToken);
        return line is null ? null : Encoding.UTF8.GetString(line);
    }

    /// <summary>
    /// STARTTLS/STLS: whatever the client sent behind the command is thrown away unread (never
    /// executed), then the protocol's go-ahead is sent, then the handshake runs. False when it failed
    /// (the session then ends).
    /// </summary>
    protected async Task<bool> StartTlsAsync(string goAhead, CancellationToken cancellationToken)
    {
        if (Input.TryRead(out var buffered))
        {
            Input.AdvanceTo(buffered.Buffer.End);
        }
        await WriteAsync(goAhead, cancellationToken);
        if (await Connection.Features.GetRequiredFeature<LocalTlsFeature>().StartTlsAsync(cancellationToken))
        {
            return true;
        }
        SetOutcome("TLS handshake failed");
        return false;
    }

    /// <summary>
    /// The client's PLAIN or LOGIN exchange: each challenge is <paramref name="challengePrefix"/>
    /// and the base64 prompt; a failure is answered with <paramref name="failureReply"/>'s line.
    /// </summary>
    protected async Task<ClientCredentials?> AuthenticateAsync(string mechanism, string? initialResponse, string challengePrefix,
        Func<CancellationToken, ValueTask<string?>> readLine, Func<SaslFailure, string?> failureReply, CancellationToken cancellationToken)
    {
        var result = await SaslServer.NegotiateAsync(mechanism, initialResponse, async (prompt, ct) =>
        {
            await WriteAsync(challengePrefix + prompt, ct);
            return await readLine(ct);
        }, cancellationToken);
        if (result.Credentials is null && failureReply(result.Failure) is { } reply)
        {
            await WriteAsync(reply, cancellationToken);
        }
        return result.Credentials;
    }

    /// <summary>
    /// Logs in upstream for the client; on success answers it and relays the session to its end.
    /// True when the session is over; false when the login failed and the client may try again.
    /// </summary>
    protected async Task<bool> LoginAndRelayAsync(ClientCredentials credentials, string tag)
    {
        var outcome = await Environment.Logins.LoginAsync(MailProtocol, credentials.Username, credentials.Password, ClientAddress, Stopping);
        if (!outcome.Succeeded)
        {
            SessionLog.LoginFailed(Log, Protocol, Client, credentials.Username, outcome.LogReason);
            _account = credentials.Username;
            _result = $"login failed ({outcome.Failure})";
            await WriteAsync(LoginFailedReply(tag, outcome), Stopping);
            return false;
        }
        _account = outcome.Account!.Name;
        await using var upstream = outcome.Upstream!.Connection!;
        SessionLog.LoginSucceeded(Log, Protocol, Client, _account, upstream.Endpoint);
        await WriteAsync(LoginSucceededReply(tag, outcome), Stopping);

        var notice = Encoding.UTF8.GetBytes(Farewell(SessionEnd.ShuttingDown, "") + "\r\n");
        var relay = await ByteRelay.RunAsync(Connection.Transport, upstream, notice, Stopping);
        _bytesFromClient = relay.BytesFromClient;
        _bytesToClient = relay.BytesToClient;
        _result = $"relayed, ended by {relay.Describe()}";
        return true;
    }

    private async Task EndAsync(SessionEnd end, string detail)
    {
        _result = end switch
        {
            SessionEnd.Limit => detail,
            SessionEnd.TimedOut => "no login within 60 seconds",
            _ => "the proxy is shutting down",
        };
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteAsync(Farewell(end, detail), timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or InvalidOperationException)
        {
            // The client is gone; nothing more to tell it.
        }
    }
}
