using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The SASL XOAUTH2 client response, <c>user=NAME\x01auth=Bearer TOKEN\x01\x01</c> in base64: built by test
/// clients and the bench's direct client, read by the fake servers (see <c>FakeXOAuth2Verifier</c>).
/// </summary>
internal static class XOAuth2Response
{
    private const string UserPrefix = "user=";
    private const string BearerPrefix = "auth=Bearer ";

    /// <summary>The decoded form, <c>user=NAME\x01auth=Bearer TOKEN\x01\x01</c>.</summary>
    public static string Format(string user, string accessToken) => $"{UserPrefix}{user}\u0001{BearerPrefix}{accessToken}\u0001\u0001";

    /// <summary>The response as sent on the wire (base64).</summary>
    public static string Encode(string user, string accessToken) => Convert.ToBase64String(Encoding.UTF8.GetBytes(Format(user, accessToken)));

    /// <summary>The decoded text of a base64 response (<c>=</c> or nothing: empty); null when it is not base64.</summary>
    public static string? Decode(string? base64)
    {
        if (base64 is null || base64.Trim() is "" or "=")
        {
            return string.Empty;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64.Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The user and token of a decoded response of exactly the form of <see cref="Format"/>; null otherwise.</summary>
    public static (string User, string Token)? Parse(string decoded)
    {
        ArgumentNullException.ThrowIfNull(decoded);
        var parts = decoded.Split('\u0001');
        if (parts.Length != 4
            || parts[2].Length != 0
            || parts[3].Length != 0
            || !parts[0].StartsWith(UserPrefix, StringComparison.Ordinal)
            || !parts[1].StartsWith(BearerPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        return (parts[0][UserPrefix.Length..], parts[1][BearerPrefix.Length..]);
    }
}
