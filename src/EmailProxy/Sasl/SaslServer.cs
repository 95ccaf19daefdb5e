using System.Text;

namespace EmailProxy.Sasl;

/// <summary>
/// The server side of PLAIN and LOGIN, the same for IMAP AUTHENTICATE, SMTP AUTH and POP AUTH:
/// with or without an initial response (<c>=</c> is the empty one), <c>*</c> cancels. The
/// protocol supplies <c>challenge</c>: send a continuation with this base64 prompt, return the
/// client's line (null when it disconnected).
/// </summary>
internal static class SaslServer
{
    public delegate ValueTask<string?> Challenge(string base64Prompt, CancellationToken cancellationToken);

    /// <summary>The base64 "Username:" and "Password:" prompts of the LOGIN mechanism.</summary>
    public const string LoginUserPrompt = "VXNlcm5hbWU6";
    public const string LoginPasswordPrompt = "UGFzc3dvcmQ6";

    public static async Task<SaslResult> NegotiateAsync(string mechanism, string? initialResponse, Challenge challenge, CancellationToken cancellationToken)
    {
        switch (mechanism.ToUpperInvariant())
        {
            case "PLAIN":
            {
                var (message, failure) = await RespondAsync(initialResponse, "", challenge, cancellationToken);
                var credentials = message is null ? null : SaslCredentials.ParsePlain(message);
                return credentials is not null ? new(credentials, SaslFailure.None) : new(null, failure == SaslFailure.None ? SaslFailure.Malformed : failure);
            }
            case "LOGIN":
            {
                var (user, failure) = await RespondAsync(initialResponse, LoginUserPrompt, challenge, cancellationToken);
                if (user is null)
                {
                    return new(null, failure);
                }
                var (password, passwordFailure) = await RespondAsync(null, LoginPasswordPrompt, challenge, cancellationToken);
                if (password is null)
                {
                    return new(null, passwordFailure);
                }
                return user.Length == 0
                    ? new(null, SaslFailure.Malformed)
                    : new(new ClientCredentials(Encoding.UTF8.GetString(user), Encoding.UTF8.GetString(password)), SaslFailure.None);
            }
            default:
                return new(null, SaslFailure.UnknownMechanism);
        }
    }

    private static async Task<(byte[]? Value, SaslFailure Failure)> RespondAsync(string? initial, string prompt, Challenge challenge, CancellationToken cancellationToken)
    {
        // An empty initial response ("=") cannot hold a user name or credentials: it is taken as
        // "none", and the client is asked, as if it had sent the mechanism alone.
        if (initial?.Trim() == "=")
        {
            initial = null;
        }
        var text = initial ?? await challenge(prompt, cancellationToken);
        if (text is null)
        {
            return (null, SaslFailure.ClientGone);
        }
        if (text.Trim() == "*")
        {
            return (null, SaslFailure.Cancelled);
        }
        var decoded = SaslCredentials.DecodeBase64(text);
        return decoded is null ? (null, SaslFailure.Malformed) : (decoded, SaslFailure.None);
    }
}
