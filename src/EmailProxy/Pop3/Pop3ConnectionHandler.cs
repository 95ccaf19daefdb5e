using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Pop3;

/// <summary>Kestrel hands every connection of the POP3 port here.</summary>
internal sealed class Pop3ConnectionHandler(SessionEnvironment environment, Pop3UpstreamClient upstream, ILogger<Pop3Session> log) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new Pop3Session(connection, environment, upstream, log).RunAsync();
}
