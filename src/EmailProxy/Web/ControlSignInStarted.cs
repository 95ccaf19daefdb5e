namespace EmailProxy.Web;

/// <summary>
/// The answer to <c>POST /api/accounts/{name}/signin</c>: the sign-in's id (for <c>/api/signins/{id}</c>)
/// and what the person opens: the authorize URL (browser), or the verification URL and user code.
/// </summary>
internal sealed record ControlSignInStarted(
    string Id,
    string Account,
    string Method,
    DateTimeOffset ExpiresAt,
    string? AuthorizeUrl = null,
    string? VerificationUri = null,
    string? UserCode = null);
