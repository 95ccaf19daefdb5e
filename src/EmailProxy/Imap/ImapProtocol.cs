using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>IMAP: <c>imap_host</c>/<c>imap_port</c> upstream, <c>imap_listen</c> locally, its local TLS by <c>imap_tls</c> or <c>local_tls</c>.</summary>
internal sealed class ImapProtocol(ImapUpstreamClient upstream)
    : MailProtocol("IMAP", ConfigKeys.Server.ImapHost, ConfigKeys.Server.ImapPort, ConfigKeys.General.ImapListen, MailListenerKind.Imap, upstream)
{
    public override string? HostOf(ServerOptions server) => server.ImapHost;

    public override int PortOf(ServerOptions server) => server.ImapPort;

    public override Type SessionType => typeof(ImapSession);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new ImapSession(connection, environment, this, log);
}
