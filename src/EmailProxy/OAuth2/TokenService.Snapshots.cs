using EmailProxy.Configuration;

namespace EmailProxy.OAuth2;

internal sealed partial class TokenService
{
    /// <summary>
    /// The account's current snapshot for a metrics collection: no lock, no I/O, no load started; null
    /// while its tokens have not been loaded (nothing asked for them yet). See the locking rules in the class remarks.
    /// </summary>
    public TokenSnapshot? Peek(string accountName) =>
        _states.TryGetValue(accountName, out var state) && state.Loaded.IsValueCreated && state.Loaded.Value.IsCompletedSuccessfully
            ? state.Current
            : null;

    /// <summary>
    /// The account's current snapshot for the status page, its tokens loaded from the store first if
    /// nothing asked for them yet; nothing refreshed, nothing written. Never shown as is: it holds the tokens. When the shared
    /// store could not be read, one with no tokens whose <see cref="TokenSnapshot.Unreadable"/> says why (read again next time).
    /// </summary>
    public async Task<TokenSnapshot> SnapshotAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(account, cancellationToken);
        return state.LoadFailure is { } failure ? TokenSnapshot.None with { Unreadable = $"its tokens cannot be read: {failure}" } : state.Current;
    }
}
