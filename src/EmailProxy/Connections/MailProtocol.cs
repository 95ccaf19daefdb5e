using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// What the login road needs to know about one mail protocol (IMAP, SMTP, POP3): its name, its
/// configuration keys, which host and port of a <c>[server]</c> it uses, whether its local port
/// sniffs implicit TLS, how it logs in upstream, and the session that speaks it to a client.
/// One instance per protocol, built once.
/// </summary>
internal abstract class MailProtocol
{
    /// <summary>The display name, in log lines and texts: <c>IMAP</c>, <c>SMTP</c>, <c>POP3</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The <c>[server]</c> key of the upstream host (<c>imap_host</c>…).</summary>
    public abstract string HostKey { get; }

    /// <summary>The <c>[server]</c> key of the upstream port (<c>imap_port</c>…).</summary>
    public abstract string PortKey { get; }

    /// <summary>The <c>[general]</c> key of the local listener (<c>imap_listen</c>…).</summary>
    public abstract string ListenKey { get; }

    /// <summary>
    /// The local port serves implicit TLS and plaintext at once, told apart by the first bytes
    /// (IMAP, POP3); otherwise it speaks plaintext and offers STARTTLS (SMTP).
    /// </summary>
    public abstract bool SniffsImplicitTls { get; }

    /// <summary>The upstream host this protocol uses in a <c>[server]</c>; null when the section has none.</summary>
    public abstract string? HostOf(ServerOptions server);

    public abstract int PortOf(ServerOptions server);

    /// <summary>Where the proxy listens for this protocol; null when it is turned off.</summary>
    public abstract IPEndPoint? ListenOf(GeneralOptions general);

    /// <summary>Connects to <see cref="HostOf"/> and authenticates there with XOAUTH2.</summary>
    public abstract Task<UpstreamLoginResult> LoginUpstreamAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken);

    /// <summary>The session that speaks this protocol to one client.</summary>
    public abstract MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log);

    public override string ToString() => Name;
}
