using EmailProxy.Configuration;

namespace EmailProxy.Upstream;

/// <summary>
/// Logs in to a real server of one protocol: connects (with implicit TLS when the protocol says
/// so for this server and port) and runs the protocol's XOAUTH2 dialogue under the connector's
/// time limit. The result holds the server's own words only; what they mean for an administrator
/// is <see cref="Providers.ProviderErrorMapping"/>'s to say.
/// </summary>
internal abstract class UpstreamClient(UpstreamConnector connector)
{
    protected UpstreamConnector Connector { get; } = connector;

    /// <summary>Logs in to <paramref name="host"/>:<paramref name="port"/>, the server's host and port for this protocol (its <see cref="Connections.MailProtocol"/> picks them).</summary>
    /// <param name="protocol">The protocol's name, labelling the login's duration in the metrics.</param>
    public Task<UpstreamLoginResult> LoginAsync(ServerOptions server, string host, int port, string username, string accessToken, string protocol, CancellationToken cancellationToken) =>
        Connector.LoginAsync(server, host, port, ImplicitTls(server, port),
            (connection, ct) => DialogueAsync(connection, server, username, accessToken, ct), protocol, cancellationToken);

    /// <summary>Whether TLS starts with the connection (rather than after STARTTLS/STLS, or never).</summary>
    protected abstract bool ImplicitTls(ServerOptions server, int port);

    /// <summary>From the server's greeting to its answer to XOAUTH2, on an open connection.</summary>
    protected abstract Task<UpstreamLoginResult> DialogueAsync(UpstreamConnection connection, ServerOptions server, string username, string accessToken, CancellationToken cancellationToken);
}
