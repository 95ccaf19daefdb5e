using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

/// <summary>One browser sign-in under way: its PKCE verifier and <c>state</c>, and who waits on it.</summary>
internal sealed class PendingSignIn(AccountOptions account, string state, string codeVerifier, Uri authorizeUrl, DateTimeOffset expiresAt)
{
    private readonly TaskCompletionSource<bool> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AccountOptions Account { get; } = account;
    public string State { get; } = state;
    public string CodeVerifier { get; } = codeVerifier;
    public Uri AuthorizeUrl { get; } = authorizeUrl;
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>Completes with true when the tokens are saved, false when the sign-in failed.</summary>
    public Task<bool> Completion => _completion.Task;

    public void Complete(bool succeeded) => _completion.TrySetResult(succeeded);

    public override string ToString() => $"PendingSignIn {{ Account = {Account.Name}, ExpiresAt = {ExpiresAt:O} }}";
}
