using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>Kestrel hands every connection of the SMTP port here.</summary>
internal sealed class SmtpConnectionHandler(SessionEnvironment environment, SmtpUpstreamClient upstream, ILogger<SmtpSession> log) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new SmtpSession(connection, environment, upstream, log).RunAsync();
}
