using EmailProxy.Configuration;
using EmailProxy.Sasl;
using EmailProxy.Upstream;

namespace EmailProxy.Imap;

/// <summary>
/// Logs in to the real IMAP server: greeting, capabilities, STARTTLS when the server section asks
/// for it, then <c>AUTHENTICATE XOAUTH2</c> or <c>OAUTHBEARER</c> (one line with SASL-IR, else two steps). A JSON
/// error challenge (Gmail, Dovecot) is answered (XOAUTH2: an empty line; OAUTHBEARER: ^A) and its status kept for the error text.
/// </summary>
internal sealed class ImapUpstreamClient(UpstreamConnector connector) : UpstreamClient(connector)
{
    protected override bool ImplicitTls(ServerOptions server, int port) => server.Ssl;

    protected override async Task<UpstreamLoginResult> DialogueAsync(UpstreamConnection connection, ServerOptions server, string username, string accessToken, SaslMechanism sasl, CancellationToken cancellationToken)
    {
        var capabilities = await ReadGreetingAsync(connection, cancellationToken);
        if (!server.Ssl && server.StartTls)
        {
            if (!HasCapability(capabilities, "STARTTLS"))
            {
                throw UpstreamConnector.NoStartTls(connection, server);
            }
            await connection.WriteLineAsync("P0 STARTTLS", cancellationToken);
            var answer = await ReadTaggedAsync(connection, "P0", null, cancellationToken);
            if (!answer.StartsWith("OK", StringComparison.OrdinalIgnoreCase))
            {
                throw new UpstreamUnavailableException($"{connection.Endpoint} refused STARTTLS: {answer}");
            }
            await Connector.UpgradeAsync(connection, server, cancellationToken);
            capabilities = await QueryCapabilitiesAsync(connection, "P1", cancellationToken);
        }

        var mechanism = UpstreamSasl.Choose(sasl, AuthMechanisms(capabilities));
        var name = UpstreamSasl.NameOf(mechanism);
        var response = UpstreamSasl.InitialResponse(mechanism, username, connection.Host, connection.Port, accessToken);
        if (HasCapability(capabilities, "SASL-IR"))
        {
            await connection.WriteLineAsync($"P2 AUTHENTICATE {name} {response}", cancellationToken);
        }
        else
        {
            await connection.WriteLineAsync($"P2 AUTHENTICATE {name}", cancellationToken);
            var first = await connection.ReadRequiredLineAsync(cancellationToken);
            if (!first.StartsWith('+'))
            {
                return Reject(Tagged(first, "P2") ?? first, null);
            }
            await connection.WriteLineAsync(response, cancellationToken);
        }

        string? challengeText = null;
        string? newCapabilities = null;
        while (true)
        {
            var line = await connection.ReadRequiredLineAsync(cancellationToken);
            if (line.StartsWith('+'))
            {
                challengeText = XOAuth2.DecodeErrorChallenge(line[1..]) ?? line[1..].Trim();
                await connection.WriteLineAsync(UpstreamSasl.ErrorChallengeAnswer(mechanism), cancellationToken);
                continue;
            }
            if (line.StartsWith("* CAPABILITY ", StringComparison.OrdinalIgnoreCase))
            {
                newCapabilities = line["* CAPABILITY ".Length..];
                continue;
            }
            if (line.StartsWith("* BYE", StringComparison.OrdinalIgnoreCase))
            {
                return Reject(line[2..], challengeText) with { TokenRefused = false };
            }
            if (Tagged(line, "P2") is not { } result)
            {
                continue;
            }
            if (!result.StartsWith("OK", StringComparison.OrdinalIgnoreCase))
            {
                return Reject(result, challengeText);
            }
            newCapabilities ??= CapabilityCode(result);
            break;
        }
        newCapabilities ??= await QueryCapabilitiesAsync(connection, "P3", cancellationToken);
        return UpstreamLoginResult.Success(connection, newCapabilities);
    }

    /// <summary>
    /// The app-only probe: <c>NAMESPACE</c> when the server offers it (Exchange does; it is the command that
    /// the Exchange logs people post show failing first with "User is authenticated but not connected", as
    /// MailKit and node-imap send it right after the login), else <c>LIST "" ""</c> (IMAP4rev1's question for
    /// the hierarchy delimiter). Both only read; their untagged answer is read here and dropped, so that the
    /// client sees nothing of the probe. "Not connected" ends the session with LOGOUT and refuses the login.
    /// </summary>
    protected override async Task<UpstreamLoginResult> ProbeMailboxAsync(UpstreamConnection connection, UpstreamLoginResult loggedIn, CancellationToken cancellationToken)
    {
        var command = HasCapability(loggedIn.Capabilities ?? "", "NAMESPACE") ? "NAMESPACE" : "LIST \"\" \"\"";
        await connection.WriteLineAsync($"P4 {command}", cancellationToken);
        var answer = await ReadTaggedAsync(connection, "P4", null, cancellationToken);
        if (!IsNotConnected(answer))
        {
            return loggedIn;
        }
        await SignOffAsync(connection, "P5 LOGOUT", line => Tagged(line, "P5") is not null, cancellationToken);
        return UpstreamLoginResult.Rejected(StripStatus(answer), tokenRefused: false);
    }

    private static UpstreamLoginResult Reject(string text, string? challenge)
    {
        var words = StripStatus(text);
        return UpstreamLoginResult.Rejected(challenge is null ? words : $"{words} ({challenge})");
    }

    private static async Task<string> ReadGreetingAsync(UpstreamConnection connection, CancellationToken cancellationToken)
    {
        var greeting = await connection.ReadRequiredLineAsync(cancellationToken);
        if (greeting.StartsWith("* BYE", StringComparison.OrdinalIgnoreCase))
        {
            throw new UpstreamUnavailableException($"{connection.Endpoint} refused the session: {greeting[2..]}");
        }
        if (!greeting.StartsWith("* OK", StringComparison.OrdinalIgnoreCase))
        {
            throw new UpstreamUnavailableException($"{connection.Endpoint} did not greet as an IMAP server does: {UpstreamConnector.Truncate(greeting)}");
        }
        return CapabilityCode(greeting[2..]) ?? await QueryCapabilitiesAsync(connection, "P0C", cancellationToken);
    }

    private static async Task<string> QueryCapabilitiesAsync(UpstreamConnection connection, string tag, CancellationToken cancellationToken)
    {
        await connection.WriteLineAsync($"{tag} CAPABILITY", cancellationToken);
        string capabilities = "";
        await ReadTaggedAsync(connection, tag, line =>
        {
            if (line.StartsWith("* CAPABILITY ", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = line["* CAPABILITY ".Length..];
            }
        }, cancellationToken);
        return capabilities;
    }

    private static async Task<string> ReadTaggedAsync(UpstreamConnection connection, string tag, Action<string>? untagged, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await connection.ReadRequiredLineAsync(cancellationToken);
            if (Tagged(line, tag) is { } result)
            {
                return result;
            }
            untagged?.Invoke(line);
        }
    }

    /// <summary>"TAG OK text" → "OK text" when the tag matches.</summary>
    private static string? Tagged(string line, string tag) =>
        line.Length > tag.Length && line.StartsWith(tag, StringComparison.Ordinal) && line[tag.Length] == ' ' ? line[(tag.Length + 1)..] : null;

    /// <summary>"OK [CAPABILITY a b] text" → "a b".</summary>
    private static string? CapabilityCode(string response)
    {
        var start = response.IndexOf("[CAPABILITY ", StringComparison.OrdinalIgnoreCase);
        if (start < 0)
        {
            return null;
        }
        start += "[CAPABILITY ".Length;
        var end = response.IndexOf(']', start);
        return end < 0 ? null : response[start..end];
    }

    /// <summary>The SASL mechanisms of the <c>AUTH=</c> capabilities; null when there is none (the server did not say).</summary>
    private static string[]? AuthMechanisms(string capabilities)
    {
        var mechanisms = capabilities.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(c => c.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase))
            .Select(c => c["AUTH=".Length..])
            .ToArray();
        return mechanisms.Length == 0 ? null : mechanisms;
    }

    private static bool HasCapability(string capabilities, string name) =>
        capabilities.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>"NO [AUTHENTICATIONFAILED] text" → "[AUTHENTICATIONFAILED] text"; "NO text" → "text".</summary>
    private static string StripStatus(string response)
    {
        var space = response.IndexOf(' ');
        var status = space < 0 ? response : response[..space];
        return status.ToUpperInvariant() is "NO" or "BAD" or "OK" or "BYE" ? UpstreamConnector.Truncate(space < 0 ? status : response[(space + 1)..]) : UpstreamConnector.Truncate(response);
    }

}
