namespace EmailProxy.TokenStore;

/// <summary>The master key cannot be had: the message names the file and the fix, never the key.</summary>
internal sealed class MasterKeyException(string message) : Exception(message);
