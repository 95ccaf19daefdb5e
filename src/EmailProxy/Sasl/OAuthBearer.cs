using System.Text;

namespace EmailProxy.Sasl;

/// <summary>
/// The SASL OAUTHBEARER initial response of RFC 7628 (section 3.1): a GS2 header naming the mailbox
/// (<c>n,a=user,</c>), then key=value pairs separated by ^A: <c>host</c> and <c>port</c> of the server the
/// client connected to, and <c>auth=Bearer token</c>, ended by ^A^A; all base64 on the wire. A server that
/// refuses the token answers with a challenge holding a JSON status (section 3.2.2), which the client must
/// answer with a single ^A (section 3.2.3) before the server says NO: <see cref="ErrorChallengeAnswer"/>.
/// </summary>
internal static class OAuthBearer
{
    /// <summary>The answer to a server's error challenge: one ^A, base64 (<c>AQ==</c>).</summary>
    public const string ErrorChallengeAnswer = "AQ==";

    public static string InitialResponse(string username, string host, int port, string accessToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(Message(username, host, port, accessToken)));

    /// <summary>The unencoded message; the authorization identity is escaped as RFC 5801 says a saslname is (',' → =2C, '=' → =3D).</summary>
    public static string Message(string username, string host, int port, string accessToken) =>
        $"n,a={username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal)},"
        + $"\u0001host={host}\u0001port={port.ToString(System.Globalization.CultureInfo.InvariantCulture)}\u0001auth=Bearer {accessToken}\u0001\u0001";
}
