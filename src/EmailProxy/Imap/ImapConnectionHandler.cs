using Microsoft.AspNetCore.Connections;

namespace EmailProxy.Imap;

/// <summary>Kestrel hands every connection of the IMAP port here; the state lives in a session object.</summary>
internal sealed class ImapConnectionHandler(ImapSessionServices services) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new ImapSession(connection, services).RunAsync();
}
