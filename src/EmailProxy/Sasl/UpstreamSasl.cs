namespace EmailProxy.Sasl;

/// <summary>
/// What differs between the two token mechanisms in an upstream login: the name on the wire, the initial
/// response, the answer to an error challenge (XOAUTH2: an empty line; OAUTHBEARER: ^A), and which one a
/// server gets: the configured one, unless the server lists only the other.
/// </summary>
internal static class UpstreamSasl
{
    public static string NameOf(SaslMechanism mechanism) => mechanism == SaslMechanism.OAuthBearer ? "OAUTHBEARER" : "XOAUTH2";

    /// <param name="host">The server's host as the proxy connected to it (OAUTHBEARER sends it).</param>
    /// <param name="port">The server's port (OAUTHBEARER sends it).</param>
    public static string InitialResponse(SaslMechanism mechanism, string username, string host, int port, string accessToken) =>
        mechanism == SaslMechanism.OAuthBearer
            ? OAuthBearer.InitialResponse(username, host, port, accessToken)
            : XOAuth2.InitialResponse(username, accessToken);

    /// <summary>What the client sends after a server's JSON error challenge, for the server's final refusal to follow.</summary>
    public static string ErrorChallengeAnswer(SaslMechanism mechanism) =>
        mechanism == SaslMechanism.OAuthBearer ? OAuthBearer.ErrorChallengeAnswer : "";

    /// <summary>
    /// The mechanism to use with a server that advertises <paramref name="advertised"/> (IMAP's AUTH=… capabilities,
    /// SMTP's AUTH line's words; null when it says nothing): the configured one, unless the server lists the other
    /// and not it (a server that offers only OAUTHBEARER gets OAUTHBEARER whatever <c>sasl</c> says).
    /// </summary>
    public static SaslMechanism Choose(SaslMechanism configured, IEnumerable<string>? advertised)
    {
        if (advertised is null)
        {
            return configured;
        }
        var names = advertised.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var other = configured == SaslMechanism.XOAuth2 ? SaslMechanism.OAuthBearer : SaslMechanism.XOAuth2;
        return !names.Contains(NameOf(configured)) && names.Contains(NameOf(other)) ? other : configured;
    }
}
