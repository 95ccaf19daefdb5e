namespace EmailProxy.OAuth2;

/// <summary>
/// Whether the person who signed in may use the account: <see cref="Identity"/> is who signed in
/// (null when the tokens do not say), <see cref="Message"/> the refusal's words for the page, the log
/// and the next login when <see cref="Accepted"/> is false.
/// </summary>
internal sealed record IdentityVerdict(bool Accepted, string? Identity, string? Message)
{
    public static IdentityVerdict Accept(string? identity) => new(true, identity, null);
    public static IdentityVerdict Refuse(string? identity, string message) => new(false, identity, message);
}
