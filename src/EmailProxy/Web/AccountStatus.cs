namespace EmailProxy.Web;

/// <summary>
/// One account as the status page shows it and <c>/status.json</c> serves it: what is configured, the
/// tokens' state (times only, never a token), the sign-in under way, the last logins and the last
/// error with its fix, and which actions its flow allows. Built by <see cref="StatusReader"/>.
/// </summary>
/// <param name="Id">The HTML id of the account's heading, from its place on the page (<c>account-3</c>): never the name, which may hold anything.</param>
/// <param name="State">One line for a person, starting with <c>Signed in</c>, <c>Needs a sign-in</c>, <c>Signing in</c> (a device code waits to be entered) or <c>App-only</c>.</param>
/// <param name="UsesSignInOf">token_from: the account whose sign-in this one uses (it has none of its own).</param>
/// <param name="Template">The template (<c>*@contoso.com</c>) the account was made from for its login name; null for an account named in the file.</param>
/// <param name="ErrorCode">The <c>AADSTS</c> code of <paramref name="LastError"/>, when it carries one.</param>
/// <param name="SendsMailThrough">How the SMTP front sends the account's mail (SMTP or Microsoft Graph, smtp_via).</param>
/// <param name="LastGraphSend">The last Graph send: when, its result, and any throttling; null when none yet.</param>
/// <param name="PasswordWaiting">A template account whose generated password nobody has been shown yet (its device-code
/// sign-in ended elsewhere): the page offers "Show the password", once. Never the password itself.</param>
internal sealed record AccountStatus(
    string Id,
    string Name,
    string Provider,
    string Flow,
    string Tenant,
    string Mailbox,
    string State,
    bool SignedIn,
    string? Identity,
    DateTimeOffset? AccessTokenExpiresAt,
    DateTimeOffset? RefreshTokenRenewedAt,
    string? UserCode,
    string? VerificationUri,
    DateTimeOffset? SignInExpiresAt,
    IReadOnlyList<ProtocolLogin> LastLogins,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    string? ErrorCode,
    string? Fix,
    bool CanSignIn,
    bool CanShowDeviceCode,
    bool CanPaste,
    bool CanForget,
    bool AppOnly,
    string? UsesSignInOf = null,
    string? Template = null,
    string? SendsMailThrough = null,
    string? LastGraphSend = null,
    bool PasswordWaiting = false)
{
    /// <summary>The path of the account's actions (<c>/accounts/{escaped}/…</c>), read back with <see cref="WebEndpoints.AccountNameOf"/>.</summary>
    public static string ActionPath(string name, string action) => $"/accounts/{Uri.EscapeDataString(name)}/{action}";
}
