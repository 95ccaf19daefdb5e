using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>
/// One sign-in under way for an account: a browser sign-in (its <c>state</c>, PKCE verifier and
/// authorize URL) or a device authorization (its verification URL and user code), and who waits on it.
/// </summary>
internal sealed class PendingSignIn
{
    private readonly TaskCompletionSource<SignInCompletion> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A browser sign-in (authorization code with PKCE).</summary>
    public PendingSignIn(AccountOptions account, string state, string codeVerifier, Uri authorizeUrl, DateTimeOffset expiresAt)
    {
        Account = account;
        Method = SignInMethod.Browser;
        State = state;
        CodeVerifier = codeVerifier;
        AuthorizeUrl = authorizeUrl;
        ExpiresAt = expiresAt;
    }

    /// <summary>A device authorization (RFC 8628): the person opens <paramref name="verificationUri"/> and enters <paramref name="userCode"/>.</summary>
    public PendingSignIn(AccountOptions account, Uri verificationUri, string userCode, DateTimeOffset expiresAt)
    {
        Account = account;
        Method = SignInMethod.DeviceCode;
        State = "";
        CodeVerifier = "";
        VerificationUri = verificationUri;
        UserCode = userCode;
        ExpiresAt = expiresAt;
    }

    public AccountOptions Account { get; }
    public SignInMethod Method { get; }

    /// <summary>Browser sign-ins: the random state the redirect must carry back (empty for device codes).</summary>
    public string State { get; }

    /// <summary>Browser sign-ins: the PKCE verifier (empty for device codes). Never logged.</summary>
    public string CodeVerifier { get; }

    /// <summary>Browser sign-ins: the provider's authorize URL (null for device codes).</summary>
    public Uri? AuthorizeUrl { get; }

    /// <summary>Device codes: where the person enters <see cref="UserCode"/> (null for browser sign-ins).</summary>
    public Uri? VerificationUri { get; }

    /// <summary>Device codes: the short code the person types (it is shown to people by design; the device_code itself never is).</summary>
    public string? UserCode { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Completes once, when the sign-in ends either way (tokens saved, refused, declined, expired).</summary>
    public Task<SignInCompletion> Completion => _completion.Task;

    public void Complete(SignInCompletion completion) => _completion.TrySetResult(completion);

    public override string ToString() => $"PendingSignIn {{ Account = {Account.Name}, Method = {Method}, ExpiresAt = {ExpiresAt:O} }}";
}
