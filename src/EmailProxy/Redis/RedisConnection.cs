using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EmailProxy.Redis;

/// <summary>
/// The proxy's one connection to Redis (<c>token_store = redis</c>): a StackExchange.Redis multiplexer made at
/// first use from the <c>redis</c> connection string, with the password of <c>$EMAILPROXY_REDIS_PASSWORD</c> when
/// it is set. It never gives up: while Redis is away the multiplexer reconnects by itself (AbortOnConnectFail is
/// off), commands fail fast meanwhile, and a line is logged when the connection is lost and when it is back. The
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
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;

    public RedisConnection(string connectionString, string? passwordFromEnvironment, ILogger<RedisConnection> log)
    {
        _options = OptionsFor(connectionString, passwordFromEnvironment);
        _log = log;
        Description = string.Join(", ", _options.EndPoints.Select(EndPointText)) + (_options.Ssl ? " (TLS)" : "");
    }

    /// <summary>
    /// This process among the replicas: put in what it publishes (pub/sub), so that it can pass over its own
    /// messages, and in lock values. New at every start.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The endpoints, for log lines and pages (never the password).</summary>
    public string Description { get; }

    /// <summary>Whether a connection is up now (false before the first use).</summary>
    public bool IsConnected => _multiplexer?.IsConnected == true;

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

    /// <summary>The multiplexer, connecting it at first use. It is returned even while Redis is unreachable: it keeps trying.</summary>
    public async Task<IConnectionMultiplexer> GetAsync(CancellationToken cancellationToken)
    {
        if (_multiplexer is { } ready)
        {
            return ready;
        }
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_multiplexer is null)
            {
                var multiplexer = await ConnectionMultiplexer.ConnectAsync(_options).WaitAsync(cancellationToken);
                multiplexer.ConnectionFailed += (_, e) => OnConnectionLost(e);
                multiplexer.ConnectionRestored += (_, e) => OnConnectionRestored(e);
                if (!multiplexer.IsConnected)
                {
                    LogNotConnectedYet(_log, Description);
                }
                _multiplexer = multiplexer;
            }
            return _multiplexer;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is { } multiplexer)
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            multiplexer.Dispose();
        }
        _connecting.Dispose();
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
