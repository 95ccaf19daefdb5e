using EmailProxy.Configuration;

namespace EmailProxy.TokenStore;

/// <summary>
/// Where the accounts' tokens are kept between runs (<c>token_store</c>): one encrypted file per account
/// (<see cref="TokenFileStore"/>), or the same encrypted record per account in Redis, shared by replicas.
/// Every store keeps a <see cref="TokenFile"/> whose secrets are sealed by <see cref="TokenCipher"/>.
/// </summary>
internal interface ITokenStore
{
    /// <summary>
    /// Whether other processes (replicas) write it too: then what this process knows in memory may be older than what
    /// is kept, and an account that seems to need a sign-in is read again first (another replica may have signed it in).
    /// </summary>
    bool IsShared { get; }

    /// <summary>Where the account's tokens are kept, for log lines and texts (a file's path, a Redis key); never a secret.</summary>
    string LocationOf(string accountName);

    /// <summary>Reads an account's tokens; null when there are none or they cannot be used (logged).</summary>
    Task<StoredTokens?> LoadAsync(AccountOptions account, CancellationToken cancellationToken);

    /// <summary>Keeps the account's tokens, replacing what was kept whole or not at all.</summary>
    /// <exception cref="IOException">They could not be kept.</exception>
    /// <exception cref="UnauthorizedAccessException">The store refused the write.</exception>
    Task SaveAsync(AccountOptions account, StoredTokens tokens, CancellationToken cancellationToken);

    /// <summary>Removes the account's tokens, whatever they hold.</summary>
    /// <returns>Whether there were any.</returns>
    /// <exception cref="IOException">They could not be removed.</exception>
    /// <exception cref="UnauthorizedAccessException">The store refused the removal.</exception>
    Task<bool> DeleteAsync(string accountName, CancellationToken cancellationToken);
}
