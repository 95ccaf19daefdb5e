using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EmailProxy.TokenStore;

/// <summary>
/// Seals an account's <see cref="TokenSecrets"/> into the blob every store keeps (<c>nonce | tag | ciphertext</c>,
/// AES-256-GCM under the master key, base64), bound to the account's name, and opens it again. The token files
/// and the Redis store keep the same blob, so that tokens move between them (<c>tokens migrate</c>) unopened.
/// </summary>
internal sealed class TokenCipher(MasterKey key)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public string Seal(string accountName, TokenSecrets secrets)
    {
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(secrets, TokenJsonContext.Default.TokenSecrets);
        var blob = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), AssociatedData(accountName));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        return Convert.ToBase64String(blob);
    }

    /// <summary>
    /// Seals any other record the proxy keeps outside its own memory (a pending sign-in in Redis) the same way as the
    /// secrets (<c>nonce | tag | ciphertext</c>, AES-256-GCM under the master key, base64), bound to
    /// <paramref name="associatedData"/>: the record's own name (its key), so that one copied under another name does not open.
    /// </summary>
    public string SealRecord(string associatedData, ReadOnlySpan<byte> plaintext)
    {
        var blob = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), RecordAssociatedData(associatedData));
        }
        return Convert.ToBase64String(blob);
    }

    /// <summary>Opens what <see cref="SealRecord"/> sealed under the same <paramref name="associatedData"/>, with the master key only.</summary>
    /// <exception cref="AuthenticationTagMismatchException">Another key sealed it, or under other associated data, or it was changed.</exception>
    /// <exception cref="FormatException">It is not base64.</exception>
    /// <exception cref="InvalidDataException">It is truncated.</exception>
    public byte[] OpenRecord(string associatedData, string sealedRecord)
    {
        var blob = Convert.FromBase64String(sealedRecord);
        if (blob.Length < NonceSize + TagSize)
        {
            throw new InvalidDataException("the record is truncated");
        }
        var plaintext = new byte[blob.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key.Key, TagSize);
        aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plaintext, RecordAssociatedData(associatedData));
        return plaintext;
    }

    /// <summary>Opens with the master key, or else with the passphrase's old key (a file not yet migrated).</summary>
    /// <exception cref="CryptographicException">Neither key opens it.</exception>
    /// <exception cref="FormatException">It is not base64.</exception>
    /// <exception cref="InvalidDataException">It is truncated, or holds no secrets.</exception>
    public TokenSecrets Open(string accountName, string sealedSecrets)
    {
        var blob = Convert.FromBase64String(sealedSecrets);
        return TryOpen(key.Key, accountName, blob)
            ?? (key.LegacyPassphraseKey is { } legacy ? TryOpen(legacy, accountName, blob) : null)
            ?? throw new AuthenticationTagMismatchException();
    }

    /// <summary>The secrets, or null when the blob does not open with this key.</summary>
    /// <exception cref="InvalidDataException">It is truncated, or holds no secrets.</exception>
    public static TokenSecrets? TryOpen(byte[] key, string accountName, byte[] blob)
    {
        if (blob.Length < NonceSize + TagSize)
        {
            throw new InvalidDataException("the secrets are truncated");
        }
        var plaintext = new byte[blob.Length - NonceSize - TagSize];
        try
        {
            using (var aes = new AesGcm(key, TagSize))
            {
                if (!TryOpen(aes, blob, plaintext, AssociatedData(accountName))
                    && (string.Equals(TokenFileName.Fold(accountName), accountName.ToLowerInvariant(), StringComparison.Ordinal)
                        || !TryOpen(aes, blob, plaintext, LegacyAssociatedData(accountName))))
                {
                    return null;
                }
            }
            return JsonSerializer.Deserialize(plaintext, TokenJsonContext.Default.TokenSecrets)
                ?? throw new InvalidDataException("the secrets are empty");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Whether the blob opens with these associated data (a file of an older version was bound to its <see cref="LegacyAssociatedData"/>).</summary>
    private static bool TryOpen(AesGcm aes, byte[] blob, byte[] plaintext, byte[] associatedData)
    {
        try
        {
            aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plaintext, associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <summary>
    /// Binds a blob to its account, so a blob copied to another account's name does not open. The
    /// name is folded as the file name is (<see cref="TokenFileName.Fold"/>).
    /// </summary>
    private static byte[] AssociatedData(string accountName) => AssociatedDataOf(TokenFileName.Fold(accountName));

    /// <summary>What versions before the fixed case mapping bound a blob to; the same bytes for an ASCII name.</summary>
    private static byte[] LegacyAssociatedData(string accountName) => AssociatedDataOf(accountName.ToLowerInvariant());

    /// <summary>A record's associated data: never the same bytes as a token blob's, whatever the record's name.</summary>
    private static byte[] RecordAssociatedData(string name) => Encoding.UTF8.GetBytes("emailproxy-record-v1:" + name);

    private static byte[] AssociatedDataOf(string foldedName) => Encoding.UTF8.GetBytes("emailproxy-tokens-v1:" + foldedName);
}
