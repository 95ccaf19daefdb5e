using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// What the login road needs to know about one mail protocol (IMAP, SMTP, POP3): its name, its
/// configuration keys, which host and port of a <c>[server]</c> it uses, which listener it is (its
/// local TLS mode is <see cref="GeneralOptions.TlsOf"/> of it), how it logs in upstream, and the
/// session that speaks it to a client.
/// One instance per protocol, built once.
/// </summary>
/// <param name="name">The display name, in log lines and texts: <c>IMAP</c>, <c>SMTP</c>, <c>POP3</c>.</param>
/// <param name="hostKey">The <c>[server]</c> key of the upstream host (<c>imap_host</c>…).</param>
/// <param name="portKey">The <c>[server]</c> key of the upstream port (<c>imap_port</c>…).</param>
/// <param name="listenKey">The <c>[general]</c> key of the local listener (<c>imap_listen</c>…).</param>
/// <param name="kind">Which mail listener this is: its <c>*_tls</c> key and mode.</param>
/// <param name="upstream">The protocol's upstream login.</param>
internal abstract class MailProtocol(string name, string hostKey, string portKey, string listenKey, MailListenerKind kind, UpstreamClient upstream)
{
    public string Name { get; } = name;
    public string HostKey { get; } = hostKey;
    public string PortKey { get; } = portKey;
    public string ListenKey { get; } = listenKey;
    public MailListenerKind Kind { get; } = kind;

    /// <summary>The <c>[general]</c> key of the listener's own local TLS mode (<c>imap_tls</c>…).</summary>
    public string TlsKey { get; } = ConfigKeys.General.TlsKeyOf(kind);

    /// <summary>The upstream host this protocol uses in a <c>[server]</c>; null when the section has none.</summary>
    public abstract string? HostOf(ServerOptions server);

    public abstract int PortOf(ServerOptions server);

    /// <summary>Where the proxy listens for this protocol; null when it is turned off.</summary>
    public IPEndPoint? ListenOf(GeneralOptions general) => general.ListenOf(Kind);

    /// <summary>The type of the session <see cref="NewSession"/> opens: its sessions log under this type's name.</summary>
    public abstract Type SessionType { get; }

    /// <summary>The session that speaks this protocol to one client.</summary>
    public abstract MailSession NewSession(ConnectionContext connection, SessionEnvironment environment, ILogger log);

    /// <summary>Connects to the server's host for this protocol (which must be set) and authenticates there with XOAUTH2.</summary>
    /// <param name="probeMailbox">Check once, before the login counts, that the token may open the mailbox (app-only tokens: <see cref="UpstreamClient.LoginAsync"/>).</param>
    /// <param name="sasl">The account's upstream mechanism (<c>sasl</c>).</param>
    public Task<UpstreamLoginResult> LoginUpstreamAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken, bool probeMailbox = false,
        Sasl.SaslMechanism sasl = Sasl.SaslMechanism.XOAuth2) =>
        upstream.LoginAsync(server, HostOf(server) ?? throw new InvalidOperationException($"[server {server.Name}] has no {HostKey}"), PortOf(server),
            username, accessToken, probeMailbox, Name, cancellationToken, sasl);

    /// <summary>Whether logins of <paramref name="account"/> need this protocol's host in its <c>[server]</c> (not SMTP through Graph).</summary>
    public virtual bool NeedsUpstreamHost(AccountOptions account) => true;

    /// <summary>The login for <paramref name="account"/>: upstream with the account's mechanism (<see cref="LoginUpstreamAsync"/>), unless the protocol serves the account otherwise (SMTP through Graph).</summary>
    public virtual Task<UpstreamLoginResult> LoginForAsync(AccountOptions account, ServerOptions server, string accessToken, CancellationToken cancellationToken, bool probeMailbox = false) =>
        LoginUpstreamAsync(server, account.Username, accessToken, cancellationToken, probeMailbox, account.Sasl);

    public override string ToString() => Name;
}
