using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Graph;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>
/// SMTP submission: <c>smtp_host</c>/<c>smtp_port</c> upstream, <c>smtp_listen</c> locally, its local TLS by <c>smtp_tls</c> or <c>local_tls</c>.
/// An account with <c>smtp_via = graph</c> (or <c>auto</c> after Exchange's 5.7.139) opens no upstream SMTP connection: <paramref name="graph"/> serves it.
/// </summary>
internal sealed class SmtpProtocol(SmtpUpstreamClient upstream, GraphRoute? graph = null)
    : MailProtocol("SMTP", ConfigKeys.Server.SmtpHost, ConfigKeys.Server.SmtpPort, ConfigKeys.General.SmtpListen, MailListenerKind.Smtp, upstream)
{
    public GraphRoute? Graph { get; } = graph;

    public override string? HostOf(ServerOptions server) => server.SmtpHost;

    public override int PortOf(ServerOptions server) => server.SmtpPort;

    public override Type SessionType => typeof(SmtpSession);

    public override MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log) =>
        new SmtpSession(connection, environment, this, log);

    public override bool NeedsUpstreamHost(AccountOptions account) => account.SmtpVia != SmtpVia.Graph || Graph is null;

    public override async Task<UpstreamLoginResult> LoginForAsync(AccountOptions account, ServerOptions server, string accessToken, CancellationToken cancellationToken, bool probeMailbox = false)
    {
        if (Graph is null || account.SmtpVia == SmtpVia.Smtp)
        {
            return await base.LoginForAsync(account, server, accessToken, cancellationToken, probeMailbox);
        }
        if (Graph.UsesGraph(account))
        {
            return await Graph.LoginAsync(account, cancellationToken);
        }
        var result = await base.LoginForAsync(account, server, accessToken, cancellationToken, probeMailbox);
        if (account.SmtpVia == SmtpVia.Auto && GraphRoute.IsSmtpAuthDisabled(result))
        {
            Graph.Switch(account, result.RejectedText!);
            return await Graph.LoginAsync(account, cancellationToken);
        }
        return result;
    }
}
