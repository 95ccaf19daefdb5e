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
    /// <summary>Exchange's words for a login it accepted to a mailbox the token may not open.</summary>
    public const string NotConnected = "User is authenticated but not connected";

    protected UpstreamConnector Connector { get; } = connector;

    /// <summary>Logs in to <paramref name="host"/>:<paramref name="port"/>, the server's host and port for this protocol (its <see cref="Connections.MailProtocol"/> picks them).</summary>
    /// <param name="probeMailbox">
    /// After an accepted login, ask once for something that needs the mailbox (<see cref="ProbeMailboxAsync"/>)
    /// before the login counts as done: for app-only tokens, which Exchange accepts even when the app may
    /// not open the mailbox. False for delegated tokens: no extra round trip.
    /// </param>
    /// <param name="protocol">The protocol's name, labelling the login's duration in the metrics.</param>
    /// <param name="sasl">The account's mechanism (<c>sasl</c>); a server that advertises only the other one gets that one.</param>
    public Task<UpstreamLoginResult> LoginAsync(ServerOptions server, string host, int port, string username, string accessToken, bool probeMailbox, string protocol,
        CancellationToken cancellationToken, Sasl.SaslMechanism sasl = Sasl.SaslMechanism.XOAuth2) =>
        Connector.LoginAsync(server, host, port, ImplicitTls(server, port), async (connection, ct) =>
        {
            var result = await DialogueAsync(connection, server, username, accessToken, sasl, ct);
            return probeMailbox && result.Succeeded ? await ProbeMailboxAsync(connection, result, ct) : result;
        }, protocol, cancellationToken);

    /// <summary>Whether TLS starts with the connection (rather than after STARTTLS/STLS, or never).</summary>
    protected abstract bool ImplicitTls(ServerOptions server, int port);

    /// <summary>
    /// One harmless command that needs the mailbox, on a connection the server has just logged in, whose
    /// answer never reaches the client. Exchange accepts an app-only token whose app has no service
    /// principal or no permission on the mailbox, and only the next mailbox command says
    /// "User is authenticated but not connected": that answer becomes a refusal (not of the token: a new
    /// one would fare no better), after the session is ended politely. Any other answer leaves
    /// <paramref name="loggedIn"/> as it was. The default (SMTP, where Exchange refuses at AUTH) probes nothing.
    /// </summary>
    protected virtual Task<UpstreamLoginResult> ProbeMailboxAsync(UpstreamConnection connection, UpstreamLoginResult loggedIn, CancellationToken cancellationToken) =>
        Task.FromResult(loggedIn);

    /// <summary>Whether a server's answer is Exchange's "the app may not open this mailbox".</summary>
    protected static bool IsNotConnected(string answer) =>
        answer.Contains(NotConnected, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Ends a session whose login is being refused: sends <paramref name="command"/> (LOGOUT, QUIT) and
    /// reads until <paramref name="isLast"/> says the server's last line came, or the server closes. Any
    /// failure on the way is ignored, the caller's refusal stands: the connection is closed right after.
    /// </summary>
    protected static async Task SignOffAsync(UpstreamConnection connection, string command, Func<string, bool> isLast, CancellationToken cancellationToken)
    {
        try
        {
            await connection.WriteLineAsync(command, cancellationToken);
            while (await connection.ReadLineAsync(cancellationToken) is { } line && !isLast(line))
            {
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or Connections.ProtocolLimitException)
        {
            // Gone, silent or babbling: the connection is closed anyway.
        }
    }

    /// <summary>From the server's greeting to its answer to XOAUTH2 or OAUTHBEARER (<paramref name="sasl"/>, unless the server offers only the other), on an open connection.</summary>
    protected abstract Task<UpstreamLoginResult> DialogueAsync(UpstreamConnection connection, ServerOptions server, string username, string accessToken, Sasl.SaslMechanism sasl, CancellationToken cancellationToken);
}
