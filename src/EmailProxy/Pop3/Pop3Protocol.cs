using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Pop3;

/// <summary>POP3: <c>pop_host</c>/<c>pop_port</c> upstream, <c>pop_listen</c> locally, implicit TLS sniffed on the local port.</summary>
internal sealed class Pop3Protocol(Pop3UpstreamClient upstream) : MailProtocol
{
    public override string Name => "POP3";
    public override string HostKey => "pop_host";
    public override string PortKey => "pop_port";
    public override string ListenKey => "pop_listen";
    public override bool SniffsImplicitTls => true;

    public override string? HostOf(ServerOptions server) => server.PopHost;

    public override int PortOf(ServerOptions server) => server.PopPort;

    public override IPEndPoint? ListenOf(GeneralOptions general) => general.PopListen;

    public override Task<UpstreamLoginResult> LoginUpstreamAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken) =>
        upstream.LoginAsync(server, HostOf(server)!, PortOf(server), username, accessToken, cancellationToken);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new Pop3Session(connection, environment, this, log);
}
