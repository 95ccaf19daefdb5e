namespace EmailProxy.Configuration;

/// <summary><c>token_store</c>: where the accounts' tokens are kept.</summary>
internal enum TokenStoreKind
{
    /// <summary>One encrypted file per account in <c>token_dir</c> (the default).</summary>
    File,

    /// <summary>The same encrypted blob per account in Redis, shared by every replica given the same master key.</summary>
    Redis,
}
