using System.Text;

namespace EmailProxy.Sasl;

/// <summary>The SASL XOAUTH2 initial response: <c>base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")</c>.</summary>
internal static class XOAuth2
{
    public static string InitialResponse(string username, string accessToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={username}\u0001auth=Bearer {accessToken}\u0001\u0001"));

    /// <summary>
    /// Reads the JSON status a server sends as a challenge instead of an immediate failure
    /// (Gmail, Dovecot): <c>{"status":"401","schemes":"Bearer","scope":"..."}</c>. Returns the
    /// decoded text, or null when the challenge is not base64.
    /// </summary>
    public static string? DecodeErrorChallenge(string challenge)
    {
        var trimmed = challenge.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }
        var buffer = new byte[trimmed.Length];
        return Convert.TryFromBase64String(trimmed, buffer, out var written) ? Encoding.UTF8.GetString(buffer, 0, written) : null;
    }
}
