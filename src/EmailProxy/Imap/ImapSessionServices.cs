using EmailProxy.Accounts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>What every IMAP session needs, built once by the handler.</summary>
internal sealed class ImapSessionServices(LoginService logins, ImapUpstreamClient upstream, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ImapSession> log)
{
    public LoginService Logins { get; } = logins;
    public ImapUpstreamClient Upstream { get; } = upstream;
    public ILogger Log { get; } = log;
    public TimeProvider Time { get; } = time;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    public string Version { get; } = typeof(ImapSessionServices).Assembly.GetName().Version?.ToString(3) ?? "0";
}
