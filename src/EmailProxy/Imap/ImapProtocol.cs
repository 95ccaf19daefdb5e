using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Imap;

/// <summary>IMAP: <c>imap_host</c>/<c>imap_port</c> upstream, <c>imap_listen</c> locally, implicit TLS sniffed on the local port.</summary>
internal sealed class ImapProtocol(ImapUpstreamClient upstream) : MailProtocol
{
    public override string Name => "IMAP";
    public override string HostKey => "imap_host";
    public override string PortKey => "imap_port";
    public override string ListenKey => "imap_listen";
    public override bool SniffsImplicitTls => true;

    public override string? HostOf(ServerOptions server) => server.ImapHost;

    public override int PortOf(ServerOptions server) => server.ImapPort;

    public override IPEndPoint? ListenOf(GeneralOptions general) => general.ImapListen;

    public override Task<UpstreamLoginResult> LoginUpstreamAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken) =>
        upstream.LoginAsync(server, HostOf(server)!, PortOf(server), username, accessToken, cancellationToken);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new ImapSession(connection, environment, this, log);
}
