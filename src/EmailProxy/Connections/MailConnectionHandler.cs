using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// Kestrel hands every connection of a mail port here; the handler is built once per port and the
/// connection's state lives in the session <typeparamref name="TProtocol"/> opens for it.
/// </summary>
internal sealed class MailConnectionHandler<TProtocol>(TProtocol protocol, SessionEnvironment environment, ILogger<TProtocol> log) : ConnectionHandler
    where TProtocol : MailProtocol
{
    public override Task OnConnectedAsync(ConnectionContext connection) => protocol.NewSession(connection, environment, log).RunAsync();
}
