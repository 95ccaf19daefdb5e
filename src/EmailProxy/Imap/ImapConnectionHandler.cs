using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>Kestrel hands every connection of the IMAP port here; the state lives in a session object.</summary>
internal sealed class ImapConnectionHandler(SessionEnvironment environment, ImapUpstreamClient upstream, ILogger<ImapSession> log) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new ImapSession(connection, environment, upstream, log).RunAsync();
}
