using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>
/// One sign-in under way for an account: a browser sign-in (its <c>state</c>, PKCE verifier and
/// authorize URL) or a device authorization (its verification URL and user code), and who waits on it.
/// </summary>
internal sealed class PendingSignIn
{
    private readonly TaskCompletionSource<SignInCompletion> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _completed;

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

    private PendingSignIn(AccountOptions account, SignInMethod method, DateTimeOffset expiresAt)
    {
        Account = account;
        Method = method;
        State = "";
        CodeVerifier = "";
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

    /// <summary>Device codes: where the person enters <see cref="UserCode"/> (null for browser sign-ins, and for a device code the provider did not give).</summary>
    public Uri? VerificationUri { get; }

    /// <summary>Device codes: the short code the person types (it is shown to people by design; the device_code itself never is).</summary>
    public string? UserCode { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The account's settings generation it was started under (<see cref="SignInManager.EndSignInsOf"/>): a later one refuses it.</summary>
    internal int Generation { get; init; }

    /// <summary>Browser sign-ins: the redirect URI the authorize request named, which the code must be redeemed with (null: the proxy's own).</summary>
    internal string? RedirectUri { get; init; }

    /// <summary>
    /// With <c>token_store = redis</c>: the name every replica knows this sign-in by (<see cref="Redis.RedisSignInRecord.Id"/>);
    /// it ends on whichever replica completes it. Null for a sign-in this replica alone knows.
    /// </summary>
    internal string? SharedId { get; init; }

    /// <summary>Completes once, when the sign-in ends either way (tokens saved, refused, declined, expired).</summary>
    public Task<SignInCompletion> Completion => _completion.Task;

    /// <summary>
    /// Told the outcome synchronously, before anyone awaiting <see cref="Completion"/> is: the sign-in
    /// manager remembers a failure there, so that whoever hears the outcome and logs in next finds it.
    /// </summary>
    internal Action<PendingSignIn, SignInCompletion>? Completing { get; init; }

    /// <summary>
    /// A sign-in that could not even start (the provider gave no device code): already completed with
    /// <paramref name="completion"/>, so that its callers handle it as any ended sign-in.
    /// </summary>
    public static PendingSignIn NotStarted(AccountOptions account, SignInMethod method, SignInCompletion completion, DateTimeOffset now,
        Action<PendingSignIn, SignInCompletion>? completing = null)
    {
        var pending = new PendingSignIn(account, method, now) { Completing = completing };
        pending.Complete(completion);
        return pending;
    }

    /// <summary>Ends the sign-in with <paramref name="completion"/>; only the first call counts (later ones are no-ops).</summary>
    public void Complete(SignInCompletion completion)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }
        Completing?.Invoke(this, completion);
        _completion.SetResult(completion);
    }

    public override string ToString() => $"PendingSignIn {{ Account = {Account.Name}, Method = {Method}, ExpiresAt = {ExpiresAt:O} }}";
}
