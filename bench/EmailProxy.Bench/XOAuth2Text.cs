using System.Text;

namespace EmailProxy.Bench;

/// <summary>The SASL XOAUTH2 initial response, built by the direct client and read by the fake upstream.</summary>
internal static class XOAuth2Text
{
    public static string Encode(string user, string accessToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={user}\u0001auth=Bearer {accessToken}\u0001\u0001"));

    /// <summary>The user and token of a base64 initial response, or null when it is not one.</summary>
    public static (string User, string Token)? Decode(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
        string? user = null;
        string? token = null;
        foreach (var part in Encoding.UTF8.GetString(bytes).Split('\u0001', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("user=", StringComparison.Ordinal))
            {
                user = part["user=".Length..];
            }
            else if (part.StartsWith("auth=Bearer ", StringComparison.Ordinal))
            {
                token = part["auth=Bearer ".Length..];
            }
        }
        return user is { Length: > 0 } && token is { Length: > 0 } ? (user, token) : null;
    }
}
