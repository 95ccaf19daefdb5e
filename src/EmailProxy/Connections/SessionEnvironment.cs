using EmailProxy.Accounts;
using EmailProxy.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Connections;

/// <summary>What every protocol's sessions share, built once.</summary>
/// <param name="loggers">For <see cref="FailedLogins"/>' own lines; none when null (tests that do not look at them).</param>
/// <param name="metrics">Where sessions, logins and relayed bytes are counted; none when null (tests that do not look at them).</param>
/// <param name="activity">Where each account's last logins and last login error are kept for the status page; none when null (tests that do not look at them).</param>
internal sealed class SessionEnvironment(LoginService logins, IHostApplicationLifetime lifetime, TimeProvider time, ILoggerFactory? loggers = null, ProxyMetrics? metrics = null,
    AccountActivity? activity = null) : IDisposable
{
    public LoginService Logins { get; } = logins;
    public ProxyMetrics? Metrics { get; } = metrics;
    public AccountActivity? Activity { get; } = activity;
    public TimeProvider Time { get; } = time;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    /// <summary>The proxy's version (major.minor.patch), as IMAP's ID answer and the status page give it.</summary>
    public static string Version { get; } = typeof(SessionEnvironment).Assembly.GetName().Version?.ToString(3) ?? "0";

    /// <summary>Bounds the connections one client address holds open before login (shared by every protocol's sessions).</summary>
    public PreLoginConnections PreLogin { get; } = new();

    /// <summary>Bounds the failed-login lines of one client address (shared by every protocol's sessions).</summary>
    public FailedLoginLog FailedLogins { get; } = new(time, (loggers ?? NullLoggerFactory.Instance).CreateLogger<FailedLoginLog>());

    public void Dispose() => FailedLogins.Dispose();
}
