using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>SMTP submission: <c>smtp_host</c>/<c>smtp_port</c> upstream, <c>smtp_listen</c> locally, its local TLS by <c>smtp_tls</c> or <c>local_tls</c>.</summary>
internal sealed class SmtpProtocol(SmtpUpstreamClient upstream)
    : MailProtocol("SMTP", ConfigKeys.Server.SmtpHost, ConfigKeys.Server.SmtpPort, ConfigKeys.General.SmtpListen, MailListenerKind.Smtp, upstream)
{
    public override string? HostOf(ServerOptions server) => server.SmtpHost;

    public override int PortOf(ServerOptions server) => server.SmtpPort;

    public override Type SessionType => typeof(SmtpSession);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new SmtpSession(connection, environment, this, log);
}
