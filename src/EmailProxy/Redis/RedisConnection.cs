using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.Redis;

/// <summary>
/// The proxy's one connection to Redis (<c>token_store = redis</c>): a StackExchange.Redis multiplexer made at
/// first use from the <c>redis</c> connection string, with the password of <c>$EMAILPROXY_REDIS_PASSWORD</c> when
/// it is set. It never gives up: while Redis is away the multiplexer reconnects by itself (AbortOnConnectFail is
/// off), a command issued meanwhile waits in the client's backlog for the connection up to its timeout (5 s by default)
/// and then fails, and a line is logged when the connection is lost and when it is back. The
/// password is never logged: <see cref="Description"/> names the endpoints only.
/// </summary>
internal sealed partial class RedisConnection : IAsyncDisposable
{
    /// <summary>Where the password may come from instead of the connection string (it wins when set).</summary>
    public const string PasswordVariable = "EMAILPROXY_REDIS_PASSWORD";

    /// <summary>
    /// The refresh lock's lease in seconds, instead of 30 (<see cref="TokenStore.RedisTokenStore.RefreshLease"/>): for tests, which
    /// kill a replica holding it and should not wait 30 s. Not a setting operators need: a live holder extends its lease.
    /// </summary>
    public const string RefreshLeaseVariable = "EMAILPROXY_REDIS_REFRESH_LEASE";

    /// <summary>The lease <see cref="RefreshLeaseVariable"/> sets (at least 1 s), or null when it is not set or not a number.</summary>
    public static TimeSpan? RefreshLeaseFromEnvironment() =>
        double.TryParse(Environment.GetEnvironmentVariable(RefreshLeaseVariable), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 1
            ? TimeSpan.FromSeconds(seconds)
            : null;

    /// <summary>Every key the proxy writes starts with this, so one Redis may serve other things too.</summary>
    public const string KeyPrefix = "emailproxy:";

    private readonly ConfigurationOptions _options;
    private readonly ILogger _log;
    private readonly Func<ConfigurationOptions, Task<IConnectionMultiplexer>> _connect;
    private readonly Lock _gate = new();

    /// <summary>The one connect under way or done (under the gate): shared by every caller, cancelled by none; a failed one is forgotten.</summary>
    private Task<IConnectionMultiplexer>? _connecting;
    private bool _disposed;

    public RedisConnection(string connectionString, string? passwordFromEnvironment, ILogger<RedisConnection> log)
        : this(connectionString, passwordFromEnvironment, log, giveUpAtStart: false)
    {
    }

    /// <param name="giveUpAtStart">For a command that runs once (<c>tokens list</c>, <c>auth</c>): the first connect fails when
    /// Redis cannot be reached, instead of returning a multiplexer that keeps trying, so that the command says so at once.</param>
    public RedisConnection(string connectionString, string? passwordFromEnvironment, ILogger<RedisConnection> log, bool giveUpAtStart)
        : this(connectionString, passwordFromEnvironment, log, async options => await ConnectionMultiplexer.ConnectAsync(options))
    {
        _options.AbortOnConnectFail = giveUpAtStart;
    }

    /// <summary>A test seam: <paramref name="connect"/> makes the multiplexer (once, whoever asks first).</summary>
    internal RedisConnection(string connectionString, string? passwordFromEnvironment, ILogger<RedisConnection> log,
        Func<ConfigurationOptions, Task<IConnectionMultiplexer>> connect)
    {
        _options = OptionsFor(connectionString, passwordFromEnvironment);
        _log = log;
        _connect = connect;
        Description = string.Join(", ", _options.EndPoints.Select(EndPointText)) + (_options.Ssl ? " (TLS)" : "");
    }

    /// <summary>A connection for a command that runs once: it fails at once when Redis cannot be reached (see the constructor's giveUpAtStart).</summary>
    public static RedisConnection ForCommand(string connectionString) =>
        new(connectionString, Environment.GetEnvironmentVariable(PasswordVariable), Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisConnection>.Instance, giveUpAtStart: true);

    /// <summary>
    /// This process among the replicas: put in what it publishes (pub/sub), so that it can pass over its own
    /// messages, and in lock values. New at every start.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The endpoints, for log lines and pages (never the password).</summary>
    public string Description { get; }

    /// <summary>Whether a connection is up now (false before the first use).</summary>
    public bool IsConnected => Made?.IsConnected == true;

    /// <summary>Whether the connection was made and is lost now (false before the first use): a command would wait for its timeout.</summary>
    public bool IsLost => Made is { IsConnected: false };

    /// <summary>The multiplexer once the first connect has made it; null before (or while it is being made).</summary>
    private IConnectionMultiplexer? Made
    {
        get
        {
            lock (_gate)
            {
                return _connecting is { IsCompletedSuccessfully: true } made ? made.Result : null;
            }
        }
    }

    /// <summary>
    /// Whether an exception says that Redis cannot be used now: refused or lost (<see cref="RedisException"/>), too slow
    /// (<see cref="RedisTimeoutException"/> is a <see cref="TimeoutException"/>, not a RedisException: a Redis that hangs
    /// or a partition), the proxy stopping, or a lock library's aggregate of these.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisException or TimeoutException or ObjectDisposedException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => false,
    };

    /// <summary>What is wrong with a <c>redis</c> value for <c>check</c>, or null; never repeats the value (it may hold the password).</summary>
    public static string? ProblemWith(string connectionString)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException)
        {
            return "is not a StackExchange.Redis connection string: write host:port, then options such as password=…, ssl=true, user=…, separated by commas";
        }
        return options.EndPoints.Count == 0 ? "names no server: write host:port first (e.g. redis.internal:6379,ssl=true)" : null;
    }

    /// <summary>The multiplexer's options: the connection string's, with the environment's password, and never giving up at start.</summary>
    /// <exception cref="ArgumentException">The connection string does not parse (<see cref="ProblemWith"/> says so first).</exception>
    public static ConfigurationOptions OptionsFor(string connectionString, string? passwordFromEnvironment)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        if (!string.IsNullOrEmpty(passwordFromEnvironment))
        {
            options.Password = passwordFromEnvironment;
        }
        options.AbortOnConnectFail = false;
        options.ClientName ??= "emailproxy";
        return options;
    }

    /// <summary>
    /// The multiplexer, connecting it at first use. It is returned even while Redis is unreachable: it keeps trying. The
    /// connect is one task shared by every caller: <paramref name="cancellationToken"/> only stops this caller's wait, so a
    /// caller that gives up neither leaks the multiplexer being made nor makes a later caller start a second one.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The connection was disposed (the proxy stops).</exception>
    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        Task<IConnectionMultiplexer> connecting;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            connecting = _connecting ??= ConnectAsync();
        }
        try
        {
            return await connecting.WaitAsync(cancellationToken);
        }
        catch when (connecting.IsFaulted)
        {
            // Only a command's connection gives up (giveUpAtStart): the next call tries again.
            lock (_gate)
            {
                if (_connecting == connecting)
                {
                    _connecting = null;
                }
            }
            throw;
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        // Not the caller's token: the connect is everyone's (it is bounded by the options' connect timeout).
        var multiplexer = await _connect(_options);
        multiplexer.ConnectionFailed += (_, e) => OnConnectionLost(e);
        multiplexer.ConnectionRestored += (_, e) => OnConnectionRestored(e);
        if (!multiplexer.IsConnected)
        {
            LogNotConnectedYet(_log, Description);
        }
        return multiplexer;
    }

    /// <summary>Closes the multiplexer; one still being made is closed as soon as it is (a proxy stopping does not wait for Redis).</summary>
    public async ValueTask DisposeAsync()
    {
        Task<IConnectionMultiplexer>? connecting;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            connecting = _connecting;
        }
        if (connecting is null)
        {
            return;
        }
        if (connecting.IsCompleted)
        {
            await CloseAsync(connecting);
        }
        else
        {
            _ = CloseAsync(connecting);
        }
    }

    private static async Task CloseAsync(Task<IConnectionMultiplexer> connecting)
    {
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await connecting;
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            return;
        }
        try
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
        }
        finally
        {
            multiplexer.Dispose();
        }
    }

    private void OnConnectionLost(ConnectionFailedEventArgs e)
    {
        var (endPoint, failure) = (EndPointText(e.EndPoint), e.FailureType.ToString());
        LogConnectionLost(_log, endPoint, failure);
    }

    private void OnConnectionRestored(ConnectionFailedEventArgs e)
    {
        var endPoint = EndPointText(e.EndPoint);
        LogConnectionRestored(_log, endPoint);
    }

    private static string EndPointText(System.Net.EndPoint? endPoint) => endPoint switch
    {
        null => "?",
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString() ?? "?",
    };

    [LoggerMessage(EventId = 7001, EventName = "RedisConnectionLost", Level = LogLevel.Warning,
        Message = "The connection to Redis at {EndPoint} is lost ({Failure}); reconnecting by itself. Meanwhile only logins whose access token is in memory work")]
    private static partial void LogConnectionLost(ILogger logger, string endPoint, string failure);

    [LoggerMessage(EventId = 7002, EventName = "RedisConnectionRestored", Level = LogLevel.Information,
        Message = "The connection to Redis at {EndPoint} is back")]
    private static partial void LogConnectionRestored(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 7003, EventName = "RedisNotConnectedYet", Level = LogLevel.Warning,
        Message = "Redis at {EndPoints} cannot be reached yet; the proxy keeps trying")]
    private static partial void LogNotConnectedYet(ILogger logger, string endPoints);
}
