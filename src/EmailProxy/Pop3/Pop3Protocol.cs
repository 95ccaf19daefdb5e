using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Pop3;

/// <summary>POP3: <c>pop_host</c>/<c>pop_port</c> upstream, <c>pop_listen</c> locally, its local TLS by <c>pop_tls</c> or <c>local_tls</c>.</summary>
internal sealed class Pop3Protocol(Pop3UpstreamClient upstream)
    : MailProtocol("POP3", ConfigKeys.Server.PopHost, ConfigKeys.Server.PopPort, ConfigKeys.General.PopListen, MailListenerKind.Pop, upstream)
{
    public override string? HostOf(ServerOptions server) => server.PopHost;

    public override int PortOf(ServerOptions server) => server.PopPort;

    public override Type SessionType => typeof(Pop3Session);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new Pop3Session(connection, environment, this, log);
}
