using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.LocalTls;
using EmailProxy.Relay;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// What every protocol's session shares: the outcome bookkeeping and its one log line, the
/// pre-login time window, writing lines to the client, and the relay after a login.
/// </summary>
internal abstract class MailSession(ConnectionContext connection, SessionEnvironment environment, ILogger log)
{
    public static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(60);

    private string _account = "-";
    private string _result = "closed before login";
    private long _bytesFromClient;
    private long _bytesToClient;

    protected abstract string Protocol { get; }
    protected ConnectionContext Connection { get; } = connection;
    protected PipeReader Input => Connection.Transport.Input;
    protected ILogger Log { get; } = log;
    protected SessionEnvironment Environment { get; } = environment;
    protected CancellationToken Stopping { get; } = environment.Stopping;
    protected string Client { get; } = connection.RemoteEndPoint?.ToString() ?? "unknown";

    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Not ConnectionClosed: Kestrel raises it when the client half-closes (printf … | nc -N),
            // and such a client must still get its answers. A client that is gone shows as the end
            // of its input, or as a failed write.
            using var session = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
            using var loginTimer = new CancellationTokenSource(LoginTimeout, Environment.Time);
            using var loginWindow = CancellationTokenSource.CreateLinkedTokenSource(session.Token, loginTimer.Token);
            await RunCoreAsync(loginWindow.Token, session.Token);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException)
        {
            _result = $"connection lost: {e.Message}";
        }
        catch (OperationCanceledException)
        {
            _result = Stopping.IsCancellationRequested ? "the proxy is shutting down" : "the client went away";
        }
        catch (Exception e)
        {
            _result = "internal error";
            SessionLog.SessionFailed(Log, e, Protocol, Client);
        }
        finally
        {
            if (Connection.Features.Get<LocalTlsFeature>() is { } tls)
            {
                Connection.Transport = tls.Transport.Raw;
                await tls.Transport.DisposeAsync();
            }
            var durationMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            SessionLog.SessionEnded(Log, Protocol, Client, _account, _result, _bytesFromClient, _bytesToClient, durationMs);
        }
    }

    /// <summary>
    /// The protocol's dialogue. <paramref name="loginWindow"/> ends 60 s after the connect (and on
    /// shutdown or disconnect); <paramref name="session"/> only on shutdown or disconnect.
    /// </summary>
    protected abstract Task RunCoreAsync(CancellationToken loginWindow, CancellationToken session);

    /// <summary>TLS is on for this port and the connection is not under it yet: STARTTLS/STLS may be offered.</summary>
    protected bool CanStartTls => Environment.Tls.Enabled && !IsTls;

    protected bool IsTls => Connection.Features.Get<LocalTlsFeature>() is not null;

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
        if (await Environment.Tls.UpgradeAsync(Connection, cancellationToken))
        {
            return true;
        }
        SetOutcome("TLS handshake failed");
        return false;
    }

    protected void SetOutcome(string result, string? account = null)
    {
        _result = result;
        _account = account ?? _account;
    }

    /// <summary>Why the login window closed, for the session's last words.</summary>
    protected bool TimedOut => !Stopping.IsCancellationRequested;

    protected async ValueTask WriteAsync(string lines, CancellationToken cancellationToken) =>
        await Connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(lines + "\r\n"), cancellationToken);

    /// <summary>Sends a last line (BYE, 421, -ERR) without waiting long on a client that does not read.</summary>
    protected async Task SayGoodbyeAsync(string line)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteAsync(line, timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or InvalidOperationException)
        {
            // The client is gone; nothing more to tell it.
        }
    }

    protected void LoginFailed(string login, LoginOutcome outcome)
    {
        SessionLog.LoginFailed(Log, Protocol, Client, login, outcome.Message);
        SetOutcome($"login failed ({outcome.Failure})", login);
    }

    /// <summary>Relays the authenticated session to its end; the upstream is disposed here.</summary>
    protected async Task RelayAsync(LoginOutcome outcome, ReadOnlyMemory<byte> shutdownNotice)
    {
        await using var upstream = outcome.Upstream!.Connection!;
        var relay = await ByteRelay.RunAsync(Connection.Transport, upstream, shutdownNotice, Stopping);
        _bytesFromClient = relay.BytesFromClient;
        _bytesToClient = relay.BytesToClient;
        SetOutcome($"relayed, ended by {relay.EndReason}");
    }

    protected void LoginSucceeded(LoginOutcome outcome)
    {
        SetOutcome("logged in", outcome.Account!.Name);
        SessionLog.LoginSucceeded(Log, Protocol, Client, outcome.Account.Name, outcome.Upstream!.Connection!.Endpoint);
    }
}
