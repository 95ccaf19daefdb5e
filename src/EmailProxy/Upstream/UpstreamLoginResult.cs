namespace EmailProxy.Upstream;

/// <summary>
/// What an upstream said to the proxy's XOAUTH2: accepted (with the open connection and, for IMAP,
/// its capabilities), rejected (the server's own words; <see cref="Providers.ProviderErrorMapping"/> adds what to do), or unreachable.
/// </summary>
internal sealed record UpstreamLoginResult
{
    public UpstreamConnection? Connection { get; init; }
    public string? Capabilities { get; init; }
    public string? RejectedText { get; init; }
    public string? UnavailableReason { get; init; }

    /// <summary>The refusal is about the token (worth a fresh one and one more try), not about the session (an SMTP 530, an IMAP BYE).</summary>
    public bool TokenRefused { get; init; } = true;

    /// <summary>Accepted without an upstream connection: the SMTP front serves the session itself and delivers through Microsoft Graph (smtp_via).</summary>
    public bool ViaGraph { get; init; }

    public bool Succeeded => Connection is not null || ViaGraph;

    public static UpstreamLoginResult Graph() => new() { ViaGraph = true };

    /// <summary>A refusal the proxy itself words whole, cause and fix (no Graph token for smtp_via = graph): told as it is, with no server's hint added.</summary>
    public bool Worded { get; init; }

    public static UpstreamLoginResult Success(UpstreamConnection connection, string? capabilities = null) =>
        new() { Connection = connection, Capabilities = capabilities };

    public static UpstreamLoginResult Rejected(string text, bool tokenRefused = true) =>
        new() { RejectedText = text, TokenRefused = tokenRefused };

    public static UpstreamLoginResult Unavailable(string reason) => new() { UnavailableReason = reason };
}
