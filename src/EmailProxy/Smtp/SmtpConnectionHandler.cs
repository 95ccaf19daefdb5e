using Microsoft.AspNetCore.Connections;

namespace EmailProxy.Smtp;

/// <summary>Kestrel hands every connection of the SMTP port here.</summary>
internal sealed class SmtpConnectionHandler(SmtpSessionServices services) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new SmtpSession(connection, services).RunAsync();
}
