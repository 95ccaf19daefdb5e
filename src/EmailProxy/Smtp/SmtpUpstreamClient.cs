using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Sasl;
using EmailProxy.Upstream;

namespace EmailProxy.Smtp;

/// <summary>
/// Logs in to the real SMTP submission server: 220 greeting, EHLO, STARTTLS (implicit TLS on port
/// 465), EHLO again, then <c>AUTH XOAUTH2</c> (or <c>OAUTHBEARER</c>) in two steps (a one-line form with a real
/// token is longer than some servers take). A <c>334</c> JSON error challenge is answered (XOAUTH2: an empty line; OAUTHBEARER: ^A).
/// </summary>
internal sealed class SmtpUpstreamClient(UpstreamConnector connector) : UpstreamClient(connector)
{
    public const int ImplicitTlsPort = 465;

    /// <summary>
    /// Port 465 is always implicit TLS (smtp.gmail.com:465); so is any port of a server with <c>ssl = true</c> and
    /// <c>starttls = false</c>, which asks for TLS from the first byte and no upgrade (sending a token in plaintext is
    /// never what that means).
    /// </summary>
    protected override bool ImplicitTls(ServerOptions server, int port) => port == ImplicitTlsPort || (server.Ssl && !server.StartTls);

    protected override async Task<UpstreamLoginResult> DialogueAsync(UpstreamConnection connection, ServerOptions server, string username, string accessToken, SaslMechanism sasl, CancellationToken cancellationToken)
    {
        var greeting = await ReadReplyAsync(connection, cancellationToken);
        if (greeting.Code != 220)
        {
            throw new UpstreamUnavailableException($"{connection.Endpoint} refused the session: {greeting}");
        }
        var ehlo = await EhloAsync(connection, cancellationToken);
        if (!connection.IsTls && server.StartTls)
        {
            if (!ehlo.HasExtension("STARTTLS"))
            {
                throw UpstreamConnector.NoStartTls(connection, server);
            }
            await connection.WriteLineAsync("STARTTLS", cancellationToken);
            var ready = await ReadReplyAsync(connection, cancellationToken);
            if (ready.Code != 220)
            {
                throw new UpstreamUnavailableException($"{connection.Endpoint} refused STARTTLS: {ready}");
            }
            await Connector.UpgradeAsync(connection, server, cancellationToken);
            ehlo = await EhloAsync(connection, cancellationToken);
        }

        var mechanism = UpstreamSasl.Choose(sasl, AuthMechanisms(ehlo));
        await connection.WriteLineAsync($"AUTH {UpstreamSasl.NameOf(mechanism)}", cancellationToken);
        var reply = await ReadReplyAsync(connection, cancellationToken);
        if (reply.Code == 334)
        {
            await connection.WriteLineAsync(UpstreamSasl.InitialResponse(mechanism, username, connection.Host, connection.Port, accessToken), cancellationToken);
            reply = await ReadReplyAsync(connection, cancellationToken);
        }
        string? challenge = null;
        if (reply.Code == 334)
        {
            // Gmail-style: a base64 JSON status instead of an immediate failure; an empty line gets the 535.
            challenge = XOAuth2.DecodeErrorChallenge(reply.Text) ?? reply.Text;
            await connection.WriteLineAsync(UpstreamSasl.ErrorChallengeAnswer(mechanism), cancellationToken);
            reply = await ReadReplyAsync(connection, cancellationToken);
        }
        if (reply.Code == 235)
        {
            return UpstreamLoginResult.Success(connection);
        }
        if (reply.Code is 421 or 454 or 451)
        {
            return UpstreamLoginResult.Unavailable($"{connection.Endpoint} cannot authenticate now: {reply}");
        }
        var words = challenge is null ? reply.ToString() : $"{reply} ({challenge})";
        // 535 and 5.7.x are about the credentials; anything else (530, 504…) would not change with a new token.
        return UpstreamLoginResult.Rejected(words, tokenRefused: reply.Code == 535 || reply.EnhancedCode?.StartsWith("5.7.", StringComparison.Ordinal) == true);
    }

    /// <summary>The mechanisms of the EHLO reply's AUTH line; null when it has none.</summary>
    private static string[]? AuthMechanisms(SmtpReply ehlo)
    {
        var auth = ehlo.Lines.FirstOrDefault(line => line.StartsWith("AUTH ", StringComparison.OrdinalIgnoreCase) || line.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase));
        return auth?[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    private static async Task<SmtpReply> EhloAsync(UpstreamConnection connection, CancellationToken cancellationToken)
    {
        await connection.WriteLineAsync($"EHLO {Connections.HostIdentity.Name}", cancellationToken);
        var reply = await ReadReplyAsync(connection, cancellationToken);
        if (reply.Code != 250)
        {
            throw new UpstreamUnavailableException($"{connection.Endpoint} refused EHLO: {reply}");
        }
        return reply;
    }

    internal static async Task<SmtpReply> ReadReplyAsync(UpstreamConnection connection, CancellationToken cancellationToken)
    {
        var code = 0;
        var lines = new List<string>();
        while (!SmtpReply.TryParseLine(await connection.ReadRequiredLineAsync(cancellationToken), ref code, lines))
        {
            if (lines.Count > 100)
            {
                throw new FormatException("a reply of more than 100 lines");
            }
        }
        return new SmtpReply(code, lines);
    }
}
