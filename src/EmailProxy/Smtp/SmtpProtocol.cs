using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>SMTP submission: <c>smtp_host</c>/<c>smtp_port</c> upstream, <c>smtp_listen</c> locally, STARTTLS rather than a sniffed implicit TLS.</summary>
internal sealed class SmtpProtocol(SmtpUpstreamClient upstream) : MailProtocol
{
    public override string Name => "SMTP";
    public override string HostKey => "smtp_host";
    public override string PortKey => "smtp_port";
    public override string ListenKey => "smtp_listen";
    public override bool SniffsImplicitTls => false;

    public override string? HostOf(ServerOptions server) => server.SmtpHost;

    public override int PortOf(ServerOptions server) => server.SmtpPort;

    public override IPEndPoint? ListenOf(GeneralOptions general) => general.SmtpListen;

    public override Task<UpstreamLoginResult> LoginUpstreamAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken) =>
        upstream.LoginAsync(server, HostOf(server)!, PortOf(server), username, accessToken, cancellationToken);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new SmtpSession(connection, environment, this, log);
}
