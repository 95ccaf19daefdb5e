using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// Kestrel hands every connection of a mail port here; the handler is built once per port and the
/// connection's state lives in the session <typeparamref name="TProtocol"/> opens for it. Sessions log
/// under their own type's name (<c>EmailProxy.Imap.ImapSession</c>…), as they did before the one handler.
/// </summary>
internal sealed class MailConnectionHandler<TProtocol>(TProtocol protocol, SessionEnvironment environment, ILoggerFactory loggers) : ConnectionHandler
    where TProtocol : MailProtocol
{
    private readonly ILogger _log = loggers.CreateLogger(protocol.SessionType);

    public override Task OnConnectedAsync(ConnectionContext connection) => protocol.NewSession(connection, environment, _log).RunAsync();
}
