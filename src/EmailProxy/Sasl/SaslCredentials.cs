using System.Text;

namespace EmailProxy.Sasl;

/// <summary>Decoding of the client-side SASL mechanisms the proxy accepts (PLAIN, LOGIN).</summary>
internal static class SaslCredentials
{
    /// <summary>Decodes base64; <c>=</c> is the empty response of RFC 4959. Null when not base64.</summary>
    public static byte[]? DecodeBase64(string text)
    {
        var trimmed = text.Trim();
        if (trimmed == "=")
        {
            return [];
        }
        var buffer = new byte[trimmed.Length];
        return Convert.TryFromBase64String(trimmed, buffer, out var written) ? buffer[..written] : null;
    }

    /// <summary>PLAIN (RFC 4616): <c>[authzid] NUL authcid NUL passwd</c>. The authcid is the login name.</summary>
    public static ClientCredentials? ParsePlain(ReadOnlySpan<byte> message)
    {
        var first = message.IndexOf((byte)0);
        if (first < 0)
        {
            return null;
        }
        var rest = message[(first + 1)..];
        var second = rest.IndexOf((byte)0);
        if (second < 0)
        {
            return null;
        }
        var authcid = Encoding.UTF8.GetString(rest[..second]);
        var password = Encoding.UTF8.GetString(rest[(second + 1)..]);
        if (authcid.Length == 0)
        {
            authcid = Encoding.UTF8.GetString(message[..first]);
        }
        return authcid.Length == 0 ? null : new ClientCredentials(authcid, password);
    }
}
