using EmailProxy.Configuration;
using EmailProxy.Sasl;
using EmailProxy.Upstream;

namespace EmailProxy.Pop3;

/// <summary>
/// Logs in to the real POP3 server: implicit TLS (995) by default, STLS when <c>ssl = false</c>
/// and <c>starttls = true</c>; then <c>AUTH XOAUTH2</c> (or <c>OAUTHBEARER</c>) in two steps (waiting for <c>+</c>).
/// A JSON error challenge is answered (XOAUTH2: an empty line; OAUTHBEARER: ^A) and its status kept for the error text.
/// </summary>
/// <remarks>
/// POP3 lists its mechanisms only in CAPA, which the proxy does not ask for (a round trip on every login): a server
/// that refuses the account's mechanism itself (<c>-ERR</c> to <c>AUTH</c>, before any token was sent) is asked with
/// the other one once, so that a server offering only OAUTHBEARER gets it as the other protocols' servers do.
/// </remarks>
internal sealed class Pop3UpstreamClient(UpstreamConnector connector) : UpstreamClient(connector)
{
    protected override bool ImplicitTls(ServerOptions server, int port) => server.Ssl;

    protected override async Task<UpstreamLoginResult> DialogueAsync(UpstreamConnection connection, ServerOptions server, string username, string accessToken, SaslMechanism sasl, CancellationToken cancellationToken)
    {
        var greeting = await connection.ReadRequiredLineAsync(cancellationToken);
        if (!greeting.StartsWith("+OK", StringComparison.Ordinal))
        {
            throw new UpstreamUnavailableException($"{connection.Endpoint} did not greet as a POP3 server does: {UpstreamConnector.Truncate(greeting)}");
        }
        if (!connection.IsTls && server.StartTls)
        {
            await connection.WriteLineAsync("STLS", cancellationToken);
            var answer = await connection.ReadRequiredLineAsync(cancellationToken);
            if (!answer.StartsWith("+OK", StringComparison.Ordinal))
            {
                throw UpstreamConnector.NoStartTls(connection, server, $"refused STLS ({UpstreamConnector.Truncate(answer)})");
            }
            await Connector.UpgradeAsync(connection, server, cancellationToken);
        }

        var mechanism = sasl;
        await connection.WriteLineAsync($"AUTH {UpstreamSasl.NameOf(mechanism)}", cancellationToken);
        var reply = await connection.ReadRequiredLineAsync(cancellationToken);
        if (reply.StartsWith("-ERR", StringComparison.Ordinal) && !reply.Contains("[SYS/", StringComparison.OrdinalIgnoreCase) && !reply.Contains("[IN-USE]", StringComparison.OrdinalIgnoreCase))
        {
            // The mechanism itself refused: the other one, once.
            mechanism = mechanism == SaslMechanism.XOAuth2 ? SaslMechanism.OAuthBearer : SaslMechanism.XOAuth2;
            await connection.WriteLineAsync($"AUTH {UpstreamSasl.NameOf(mechanism)}", cancellationToken);
            var other = await connection.ReadRequiredLineAsync(cancellationToken);
            if (other.StartsWith('+') && !other.StartsWith("+OK", StringComparison.Ordinal))
            {
                reply = other;
            }
        }
        if (reply.StartsWith('+') && !reply.StartsWith("+OK", StringComparison.Ordinal))
        {
            await connection.WriteLineAsync(UpstreamSasl.InitialResponse(mechanism, username, connection.Host, connection.Port, accessToken), cancellationToken);
            reply = await connection.ReadRequiredLineAsync(cancellationToken);
        }
        string? challenge = null;
        if (reply.StartsWith('+') && !reply.StartsWith("+OK", StringComparison.Ordinal))
        {
            challenge = XOAuth2.DecodeErrorChallenge(reply[1..]) ?? reply[1..].Trim();
            await connection.WriteLineAsync(UpstreamSasl.ErrorChallengeAnswer(mechanism), cancellationToken);
            reply = await connection.ReadRequiredLineAsync(cancellationToken);
        }
        if (reply.StartsWith("+OK", StringComparison.Ordinal))
        {
            return UpstreamLoginResult.Success(connection);
        }
        var words = reply.StartsWith("-ERR", StringComparison.Ordinal) ? reply[4..].Trim() : reply;
        if (words.StartsWith("[SYS/TEMP]", StringComparison.OrdinalIgnoreCase) || words.StartsWith("[IN-USE]", StringComparison.OrdinalIgnoreCase))
        {
            return UpstreamLoginResult.Unavailable($"{connection.Endpoint} cannot log in now: {UpstreamConnector.Truncate(words)}");
        }
        words = UpstreamConnector.Truncate(words);
        return UpstreamLoginResult.Rejected(challenge is null ? words : $"{words} ({challenge})");
    }

    /// <summary>
    /// The app-only probe: <c>STAT</c>, the maildrop's count and size (RFC 1939: it changes nothing, and
    /// it needs the mailbox, where <c>NOOP</c> may be answered without it). Its one-line answer is read here
    /// and dropped. Exchange's "-ERR User is authenticated but not connected" ends the session with QUIT and
    /// refuses the login.
    /// </summary>
    protected override async Task<UpstreamLoginResult> ProbeMailboxAsync(UpstreamConnection connection, UpstreamLoginResult loggedIn, CancellationToken cancellationToken)
    {
        await connection.WriteLineAsync("STAT", cancellationToken);
        var answer = await connection.ReadRequiredLineAsync(cancellationToken);
        if (answer.StartsWith("+OK", StringComparison.Ordinal) || !IsNotConnected(answer))
        {
            return loggedIn;
        }
        await SignOffAsync(connection, "QUIT", _ => true, cancellationToken);
        var words = answer.StartsWith("-ERR", StringComparison.Ordinal) ? answer[4..].Trim() : answer;
        return UpstreamLoginResult.Rejected(UpstreamConnector.Truncate(words), tokenRefused: false);
    }
}
