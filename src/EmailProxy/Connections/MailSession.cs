using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Diagnostics;
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
/// <remarks>
/// Before login a client gets little: lines of at most <see cref="MaxLineLength"/>,
/// <see cref="LoginTimeout"/> from its connect, <see cref="MaxBadCommands"/> refused commands,
/// <see cref="MaxFailedLogins"/> failed logins with <see cref="RetryWindow"/> after each, and a
/// line that looks like HTTP closes it at once. Whatever it chose (a login name, a mechanism)
/// reaches a reply or a log line only through <see cref="ClientText.Sanitize"/>.
/// </remarks>
internal abstract class MailSession(ConnectionContext connection, SessionEnvironment environment, MailProtocol protocol, ILogger log)
{
    public static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(60);
    public const int MaxLineLength = 8 * 1024;

    /// <summary>
    /// Unknown, malformed or refused commands (BAD, 5xx, -ERR) one session may send before login;
    /// the one that reaches it is answered, then the session closes with a line that says why.
    /// Real clients send none or one or two (an unsupported mechanism, STARTTLS where there is none);
    /// a web page's form fields and garbage run into it quickly.
    /// </summary>
    public const int MaxBadCommands = 10;

    /// <summary>
    /// Failed logins one connection may make: the last is answered, then the session closes. A
    /// guesser needs a new connection (and a new TLS handshake) every few tries.
    /// </summary>
    public const int MaxFailedLogins = 3;

    /// <summary>
    /// After a failed login the session has this long (or what is left of its
    /// <see cref="LoginTimeout"/>, whichever is shorter) to log in again; the failure's reply has
    /// this long to be written, so that a client that does not read cannot hold the session.
    /// </summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromSeconds(20);

    /// <summary>What a login failure's message is cut to in the reply and the log (a sign-in URL and an upstream's text fit).</summary>
    public const int MaxFailureMessageLength = 2000;

    private string _account = "-";
    private string _result = "closed before login";
    private long _bytesFromClient;
    private long _bytesToClient;
    private long _connected;
    private CancellationTokenSource? _loginTimer;
    private int _badCommands;
    private int _failedLogins;
    private int _failuresLogged;
    private long _longestLine;
    private bool _loggedIn;
    private string? _preLoginKey;
    private SessionEnd? _end;
    private bool _internalError;

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

    /// <summary>The listener is in <c>starttls</c> mode and the connection is not under TLS yet: STARTTLS/STLS is offered.</summary>
    protected bool CanStartTls => Connection.Features.Get<LocalTlsFeature>()?.CanStartTls ?? false;

    protected bool IsTls => Connection.Features.Get<LocalTlsFeature>()?.IsTls ?? false;

    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        _connected = Environment.Time.GetTimestamp();
        // Not ConnectionClosed: Kestrel raises it when the client half-closes (printf … | nc -N),
        // and such a client must still get its answers. A client that is gone shows as the end of
        // its input, or as a failed write.
        using var loginTimer = new CancellationTokenSource(LoginTimeout, Environment.Time);
        using var loginWindow = CancellationTokenSource.CreateLinkedTokenSource(Stopping, loginTimer.Token);
        _loginTimer = loginTimer;
        Environment.Metrics?.SessionOpened(Protocol);
        try
        {
            if (!Environment.PreLogin.TryEnter(ClientAddress, out _preLoginKey))
            {
                await EndAsync(SessionEnd.Limit, $"Too many connections from your address before login (the limit is {PreLoginConnections.MaxPerAddress})");
                return;
            }
            await RunCoreAsync(loginWindow.Token);
        }
        catch (CrossProtocolException)
        {
            await EndAsync(SessionEnd.CrossProtocol, "");
        }
        catch (ProtocolLimitException e)
        {
            await EndAsync(SessionEnd.Limit, e.Message);
        }
        catch (OperationCanceledException) when (loginWindow.IsCancellationRequested)
        {
            await EndAsync(Stopping.IsCancellationRequested ? SessionEnd.ShuttingDown : _failedLogins > 0 ? SessionEnd.RetryTimedOut : SessionEnd.TimedOut, "");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            _result = $"connection lost: {e.Message}";
        }
        catch (Exception e)
        {
            _result = "internal error";
            _internalError = true;
            SessionLog.SessionFailed(Log, e, Protocol, Client);
        }
        finally
        {
            LeavePreLogin();
            _loginTimer = null;
            var durationMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            SessionLog.PreLoginPeak(Log, Protocol, Client, PreLoginPeakBytes, PreLoginLimitBytes);
            // Always worked out, logged or not: a refused session counts in its address's share.
            var level = EndLevel();
            SessionLog.SessionEnded(Log, level, Protocol, Client, _account, _result, _bytesFromClient, _bytesToClient, durationMs);
            Environment.Metrics?.SessionEnded(Protocol, MetricOutcome());
        }
    }

    /// <summary>How the session ended, as the <c>emailproxy.sessions.ended</c> metric tells it (<see cref="SessionOutcome"/>).</summary>
    private string MetricOutcome() =>
        _internalError ? SessionOutcome.Error
        : _loggedIn ? SessionOutcome.Relayed
        : _end == SessionEnd.ShuttingDown ? SessionOutcome.ShuttingDown
        : _failedLogins > 0 ? SessionOutcome.LoginFailed
        : _end switch
        {
            SessionEnd.TimedOut => SessionOutcome.TimedOut,
            SessionEnd.Limit or SessionEnd.CrossProtocol => SessionOutcome.Refused,
            _ => SessionOutcome.Closed,
        };

    /// <summary>The connection no longer counts in its address's pre-login share (it logged in, or ended).</summary>
    private void LeavePreLogin()
    {
        if (_preLoginKey is { } key)
        {
            _preLoginKey = null;
            Environment.PreLogin.Leave(key);
        }
    }

    /// <summary>
    /// The level of the session's <see cref="SessionLog.SessionEnded"/> line. A session that logged
    /// in, or ended by the proxy's shutdown: Information. One with failed logins: Debug when
    /// <see cref="FailedLoginLog"/> left all of them out (they were counted there already). Any
    /// other that ended before a login (refused: garbage, HTTP, a ClientHello, too many bad
    /// commands, no login in time; or closed by the client) counts in the same per-address share:
    /// Information while the address has lines left for the minute, else Debug and counted in the
    /// minute's summary, so that one line per TCP connect cannot flood the log.
    /// </summary>
    private LogLevel EndLevel()
    {
        if (_loggedIn || Stopping.IsCancellationRequested)
        {
            return LogLevel.Information;
        }
        if (_failedLogins > 0)
        {
            return _failuresLogged == 0 ? LogLevel.Debug : LogLevel.Information;
        }
        return Environment.FailedLogins.Admit(ClientAddress) ? LogLevel.Information : LogLevel.Debug;
    }

    /// <summary>
    /// The most bytes of one pre-login command the session's reader held at once (see
    /// <see cref="SessionLog.PreLoginPeak"/>): for the line-based protocols, the longest line read.
    /// </summary>
    protected virtual long PreLoginPeakBytes => _longestLine;

    /// <summary>The limit <see cref="PreLoginPeakBytes"/> must stay within.</summary>
    protected virtual long PreLoginLimitBytes => MaxLineLength;

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

    /// <summary>The bytes of a session served without an upstream (<see cref="ServeWithoutUpstreamAsync"/>), for its end line.</summary>
    protected void SetSessionBytes(long fromClient, long toClient) => (_bytesFromClient, _bytesToClient) = (fromClient, toClient);

    protected async ValueTask WriteAsync(string lines, CancellationToken cancellationToken) =>
        await Connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(lines + "\r\n"), cancellationToken);

    /// <summary>The next line of a line-based protocol (SMTP, POP3), at most <see cref="MaxLineLength"/>; null when the client closed.</summary>
    protected async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) =>
        await ReadLineBytesAsync(cancellationToken) is { } line ? Encoding.UTF8.GetString(line) : null;

    /// <summary>
    /// The next command line of a line-based protocol before login, as <see cref="ReadLineAsync"/>;
    /// a line that looks like HTTP (a browser made to post to this port) ends the session at once
    /// with <see cref="CrossProtocolException"/>, before anything of it runs.
    /// </summary>
    protected async ValueTask<string?> ReadCommandLineAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineBytesAsync(cancellationToken);
        if (line is null)
        {
            return null;
        }
        if (CrossProtocol.LooksLikeHttp(line))
        {
            throw new CrossProtocolException();
        }
        return Encoding.UTF8.GetString(line);
    }

    private async ValueTask<byte[]?> ReadLineBytesAsync(CancellationToken cancellationToken)
    {
        var line = await Input.ReadLineAsync(MaxLineLength, cancellationToken);
        _longestLine = Math.Max(_longestLine, line?.Length ?? 0);
        return line;
    }

    /// <summary>
    /// Before the first command, once the greeting is out: a client whose first byte opens a TLS
    /// record (0x16, a ClientHello) speaks TLS where the listener greeted in plaintext (its mode is
    /// <c>starttls</c> or <c>off</c>, or <c>auto</c> saw no ClientHello in time), and would otherwise
    /// have its handshake read as lines of garbage until the login window ends. It is closed at
    /// once, and the log says why and what to change (<see cref="LocalTlsFeature.ReportLateClientHello"/>).
    /// Nothing is consumed.
    /// </summary>
    protected async ValueTask RefuseTlsHandshakeAsync(CancellationToken cancellationToken)
    {
        var result = await Input.ReadAsync(cancellationToken);
        var handshake = LocalTlsMiddleware.OpensTlsHandshake(result.Buffer);
        Input.AdvanceTo(result.Buffer.Start);
        if (handshake)
        {
            var feature = Connection.Features.Get<LocalTlsFeature>();
            feature?.ReportLateClientHello(Protocol, MailProtocol.TlsKey);
            throw new ProtocolLimitException(feature?.Mode == LocalTlsMode.Auto
                ? "TLS handshake refused: it came after the plaintext greeting"
                : "TLS handshake refused: this port starts in plaintext");
        }
    }

    /// <summary>
    /// Answers a command the session refuses before login (unknown, malformed, not available: BAD,
    /// 5xx, -ERR) and counts it; the <see cref="MaxBadCommands"/>th ends the session after its answer.
    /// </summary>
    protected async ValueTask RefuseAsync(string reply, CancellationToken cancellationToken)
    {
        await WriteAsync(reply, cancellationToken);
        if (++_badCommands >= MaxBadCommands)
        {
            throw new ProtocolLimitException($"Too many unknown or bad commands ({MaxBadCommands})");
        }
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
    /// and the base64 prompt; a failure is answered with <paramref name="failureReply"/>'s line,
    /// and counts as a bad command (<see cref="RefuseAsync"/>), a cancel (<c>*</c>) too. A
    /// response line is bounded like any line: a 100 KB blob ends the session with the protocol's
    /// "line too long", it is never buffered.
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
            // A cancel counts too: otherwise AUTH and * could be repeated for the whole login window.
            await RefuseAsync(reply, cancellationToken);
        }
        return result.Credentials;
    }

    /// <summary>
    /// Logs in upstream for the client; on success answers it and relays the session to its end.
    /// True when the session is over; false when the login failed and the client may try again
    /// (within <see cref="RetryWindow"/>, up to <see cref="MaxFailedLogins"/> failures, after which
    /// a <see cref="ProtocolLimitException"/> ends the session). The login itself may outlast the
    /// login window (a wait for a sign-in); the failure's reply then still gets its
    /// <see cref="RetryWindow"/> to be written.
    /// </summary>
    protected async Task<bool> LoginAndRelayAsync(ClientCredentials credentials, string tag)
    {
        var outcome = await Environment.Logins.LoginAsync(MailProtocol, credentials.Username, credentials.Password, ClientAddress, Stopping);
        Environment.Metrics?.Login(Protocol, outcome.Failure);
        Environment.Activity?.Login(Protocol, outcome);
        if (!outcome.Succeeded)
        {
            _failedLogins++;
            var account = ClientText.Sanitize(credentials.Username);
            // The last guard: whatever a failure's text quotes, it can never hold a line break of its own.
            var failure = outcome with { Message = ClientText.Sanitize(outcome.Message, MaxFailureMessageLength) };
            if (Environment.FailedLogins.Admit(ClientAddress))
            {
                _failuresLogged++;
                SessionLog.LoginFailed(Log, Protocol, Client, account, ClientText.Sanitize(outcome.LogReason, MaxFailureMessageLength));
            }
            _account = account;
            _result = $"login failed ({outcome.Failure})";
            var left = LoginTimeout - Environment.Time.GetElapsedTime(_connected);
            if (left > TimeSpan.Zero)
            {
                _loginTimer?.CancelAfter(left < RetryWindow ? left : RetryWindow);
            }
            using (var replyTimer = new CancellationTokenSource(RetryWindow, Environment.Time))
            using (var replyWindow = CancellationTokenSource.CreateLinkedTokenSource(Stopping, replyTimer.Token))
            {
                await WriteAsync(LoginFailedReply(tag, failure), replyWindow.Token);
            }
            if (_failedLogins >= MaxFailedLogins)
            {
                throw new ProtocolLimitException($"Too many failed logins ({MaxFailedLogins})");
            }
            return false;
        }
        _account = outcome.Account!.Name;
        _loggedIn = true;
        LeavePreLogin();
        if (outcome.Upstream!.ViaGraph)
        {
            SessionLog.LoginSucceeded(Log, Protocol, Client, _account, "Microsoft Graph");
            await WriteAsync(LoginSucceededReply(tag, outcome), Stopping);
            _result = await ServeWithoutUpstreamAsync(outcome.Account, Stopping);
            return true;
        }
        await using var upstream = outcome.Upstream!.Connection!;
        SessionLog.LoginSucceeded(Log, Protocol, Client, _account, upstream.Endpoint);
        await WriteAsync(LoginSucceededReply(tag, outcome), Stopping);

        var notice = Encoding.UTF8.GetBytes(Farewell(SessionEnd.ShuttingDown, "") + "\r\n");
        var relay = await ByteRelay.RunAsync(Connection.Transport, upstream, notice, Stopping, Environment.Metrics?.RelayBytes(Protocol),
            WatchRelayedReplies(outcome.Account));
        _bytesFromClient = relay.BytesFromClient;
        _bytesToClient = relay.BytesToClient;
        _result = $"relayed, ended by {relay.Describe()}";
        return true;
    }

    /// <summary>
    /// What looks at the upstream's bytes on their way to the client once the relay runs (SMTP: its replies, for
    /// refusals the proxy has a fix for); null, the default, for none. It only reads: the bytes pass unchanged.
    /// </summary>
    protected virtual Action<ReadOnlySpan<byte>>? WatchRelayedReplies(AccountOptions account) => null;

    /// <summary>
    /// A session the protocol serves itself after the login, with no upstream connection (SMTP through
    /// Microsoft Graph); returns the session's result for its end line.
    /// </summary>
    protected virtual Task<string> ServeWithoutUpstreamAsync(AccountOptions account, CancellationToken stopping) =>
        throw new InvalidOperationException($"{Protocol} has no session without an upstream");

    private async Task EndAsync(SessionEnd end, string detail)
    {
        _end = end;
        _result = end switch
        {
            SessionEnd.Limit => detail,
            SessionEnd.TimedOut => "no login within 60 seconds",
            SessionEnd.RetryTimedOut => "no new login after a failed one",
            SessionEnd.CrossProtocol => "closed: looked like an HTTP request",
            _ => "the proxy is shutting down",
        };
        try
        {
            // A client that does not read is not waited for long: its last line may be lost.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), Environment.Time);
            await WriteAsync(Farewell(end, detail), timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or InvalidOperationException)
        {
            // The client is gone; nothing more to tell it.
        }
    }
}
