namespace EmailProxy.TokenStore;

/// <summary>
/// The shared token store (Redis) cannot be reached now: a passing failure, told to mail clients as the protocol's
/// temporary failure. An <see cref="IOException"/>, so that whoever handles a store's write failures handles it too.
/// Its message names the store's endpoints, never a password.
/// </summary>
internal sealed class TokenStoreUnavailableException : IOException
{
    public TokenStoreUnavailableException()
    {
    }

    public TokenStoreUnavailableException(string message) : base(message)
    {
    }

    public TokenStoreUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
