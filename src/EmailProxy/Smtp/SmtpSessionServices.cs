using System.Net;
using EmailProxy.Accounts;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>What every SMTP session needs, built once by the handler.</summary>
internal sealed class SmtpSessionServices(LoginService logins, SmtpUpstreamClient upstream, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SmtpSession> log)
{
    public LoginService Logins { get; } = logins;
    public SmtpUpstreamClient Upstream { get; } = upstream;
    public ILogger Log { get; } = log;
    public TimeProvider Time { get; } = time;
    public CancellationToken Stopping => lifetime.ApplicationStopping;
    public string HostName { get; } = Dns.GetHostName() is { Length: > 0 } name && !name.Contains(' ') ? name : "localhost";
}
