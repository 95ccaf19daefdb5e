using EmailProxy.Accounts;
using Microsoft.Extensions.Hosting;

namespace EmailProxy.Connections;

/// <summary>What every protocol's sessions share, built once.</summary>
internal sealed class SessionEnvironment(LoginService logins, IHostApplicationLifetime lifetime, TimeProvider time)
{
    public LoginService Logins { get; } = logins;
    public TimeProvider Time { get; } = time;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    public string Version { get; } = typeof(SessionEnvironment).Assembly.GetName().Version?.ToString(3) ?? "0";
}
