using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Sasl;
using EmailProxy.Upstream;

namespace EmailProxy.Smtp;

/// <summary>
/// Logs in to the real SMTP submission server: 220 greeting, EHLO, STARTTLS (implicit TLS on port
/// 465), EHLO again, then <c>AUTH XOAUTH2</c> in two steps (a one-line form with a real token is
/// longer than some servers take). A <c>334</c> JSON error challenge is answered with an empty line.
/// </summary>
internal sealed class SmtpUpstreamClient(UpstreamConnector connector)
{
    public const int ImplicitTlsPort = 465;

    private static readonly string EhloName = Dns.GetHostName() is { Length: > 0 } name && !name.Contains(' ') ? name : "localhost";

    public async Task<UpstreamLoginResult> LoginAsync(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken)
    {
        var host = server.SmtpHost!;
        var port = server.SmtpPort;
        var implicitTls = port == ImplicitTlsPort;
        UpstreamConnection? connection = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UpstreamConnector.HandshakeTimeout);
        try
        {
            connection = await connector.ConnectAsync(server, host, port, implicitTls, timeout.Token);
            var greeting = await ReadReplyAsync(connection, timeout.Token);
            if (greeting.Code != 220)
            {
                throw new UpstreamUnavailableException($"{connection.Endpoint} refused the session: {greeting}");
            }
            var ehlo = await EhloAsync(connection, timeout.Token);
            if (!implicitTls && server.StartTls)
            {
                if (!ehlo.HasExtension("STARTTLS"))
                {
                    throw new UpstreamUnavailableException($"{connection.Endpoint} does not offer STARTTLS, and the proxy does not send tokens in plaintext (set starttls = false in [server {server.Name}] only for a trusted local server)");
                }
                await connection.WriteLineAsync("STARTTLS", timeout.Token);
                var ready = await ReadReplyAsync(connection, timeout.Token);
                if (ready.Code != 220)
                {
                    throw new UpstreamUnavailableException($"{connection.Endpoint} refused STARTTLS: {ready}");
                }
                await connection.UpgradeAsync((stream, ct) => connector.StartTlsAsync(stream, server, host, port, ct), timeout.Token);
                await EhloAsync(connection, timeout.Token);
            }

            await connection.WriteLineAsync("AUTH XOAUTH2", timeout.Token);
            var reply = await ReadReplyAsync(connection, timeout.Token);
            if (reply.Code == 334)
            {
                await connection.WriteLineAsync(XOAuth2.InitialResponse(username, accessToken), timeout.Token);
                reply = await ReadReplyAsync(connection, timeout.Token);
            }
            string? challenge = null;
            if (reply.Code == 334)
            {
                // Gmail-style: a base64 JSON status instead of an immediate failure; an empty line gets the 535.
                challenge = XOAuth2.DecodeErrorChallenge(reply.Text) ?? reply.Text;
                await connection.WriteLineAsync("", timeout.Token);
                reply = await ReadReplyAsync(connection, timeout.Token);
            }
            if (reply.Code == 235)
            {
                var success = UpstreamLoginResult.Success(connection);
                connection = null;
                return success;
            }
            if (reply.Code is 421 or 454 or 451)
            {
                return UpstreamLoginResult.Unavailable($"{host}:{port} cannot authenticate now: {reply}");
            }
            var words = challenge is null ? reply.ToString() : $"{reply} ({challenge})";
            return UpstreamLoginResult.Rejected(words, Hint(reply));
        }
        catch (UpstreamUnavailableException e)
        {
            return UpstreamLoginResult.Unavailable(e.Message);
        }
        catch (FormatException e)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} does not speak SMTP as expected: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} did not answer within {UpstreamConnector.HandshakeTimeout.TotalSeconds:0} seconds");
        }
        catch (IOException e)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} broke the connection: {e.Message}");
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Exchange's texts, with what an administrator does about them (PROTOCOL-NOTES.md).</summary>
    internal static string? Hint(SmtpReply reply)
    {
        var text = reply.ToString();
        if (text.Contains("SmtpClientAuthentication is disabled", StringComparison.OrdinalIgnoreCase))
        {
            return "SMTP AUTH is switched off for this mailbox or tenant, even for OAuth2: an Exchange administrator runs Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (and checks Set-TransportConfig -SmtpClientAuthenticationDisabled).";
        }
        if (text.Contains("did not meet the criteria", StringComparison.OrdinalIgnoreCase))
        {
            return "Security Defaults or a Conditional Access policy blocks SMTP AUTH for this sign-in.";
        }
        if (reply.Code == 535)
        {
            return "Check that username is the mailbox's address and that the token's scope includes https://outlook.office.com/SMTP.Send (not graph.microsoft.com).";
        }
        return null;
    }

    private static async Task<SmtpReply> EhloAsync(UpstreamConnection connection, CancellationToken cancellationToken)
    {
        await connection.WriteLineAsync($"EHLO {EhloName}", cancellationToken);
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
