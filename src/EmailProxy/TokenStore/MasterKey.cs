using System.Security.Cryptography;
using System.Text;
using EmailProxy.Storage;

namespace EmailProxy.TokenStore;

/// <summary>
/// The 32-byte key that encrypts every token file. <c>$EMAILPROXY_SECRET</c> wins: base64 of 32 bytes
/// is the key as it is; anything else is a passphrase, derived once per start with the parameters of
/// <see cref="PassphraseKdf"/>. Otherwise <c>secret_file</c> holds it as base64, created 0600 with fresh
/// random bytes on the first start — create-only, so that of two first starts one wins and the other
/// reads the winner's key.
/// </summary>
internal sealed class MasterKey
{
    public const string EnvironmentVariable = "EMAILPROXY_SECRET";
    public const int Length = 32;

    private MasterKey(byte[] key, string source, byte[]? legacyPassphraseKey = null)
    {
        Key = key;
        Source = source;
        LegacyPassphraseKey = legacyPassphraseKey;
    }

    public byte[] Key { get; }

    /// <summary>
    /// For a passphrase only: the key versions before the key derivation made of it (SHA-256 of its
    /// UTF-8), so that their token files are read once and rewritten under <see cref="Key"/>.
    /// </summary>
    public byte[]? LegacyPassphraseKey { get; }

    /// <summary>Where the key came from, for the start-up log (never the key itself).</summary>
    public string Source { get; }

    public static MasterKey FromBytes(byte[] key) =>
        key.Length == Length ? new MasterKey(key, "memory") : throw new ArgumentException("The key must be 32 bytes.", nameof(key));

    /// <param name="secretFile">The key file, used when <paramref name="environmentValue"/> is empty.</param>
    /// <param name="tokenDirectory">The token folder: a passphrase's derivation parameters are kept beside it.</param>
    /// <param name="environmentValue">The value of <c>$EMAILPROXY_SECRET</c>, if any.</param>
    /// <exception cref="MasterKeyException">The key file or the derivation parameters are not usable, or cannot be created.</exception>
    public static MasterKey Load(string secretFile, string tokenDirectory, string? environmentValue)
    {
        if (!string.IsNullOrEmpty(environmentValue))
        {
            if (TryDecode(environmentValue) is { } bytes)
            {
                return new MasterKey(bytes, $"${EnvironmentVariable}");
            }
            var parametersFile = PassphraseKdf.FileFor(tokenDirectory);
            var legacyKey = SHA256.HashData(Encoding.UTF8.GetBytes(environmentValue));
            RefuseNewParametersOverTokensThatNeedOld(parametersFile, tokenDirectory, legacyKey);
            var kdf = PassphraseKdf.LoadOrCreate(parametersFile);
            return new MasterKey(
                kdf.DeriveKey(environmentValue),
                $"${EnvironmentVariable} (a passphrase; {kdf.Algorithm}, {kdf.Iterations} iterations, parameters in {parametersFile})",
                legacyKey);
        }
        try
        {
            if (!File.Exists(secretFile))
            {
                var directory = Path.GetDirectoryName(secretFile);
                if (!string.IsNullOrEmpty(directory))
                {
                    Directory.CreateDirectory(directory);
                }
                var key = RandomNumberGenerator.GetBytes(Length);
                if (PrivateFile.TryCreate(secretFile, Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n")))
                {
                    return new MasterKey(key, secretFile);
                }
                // Another first start was quicker: its key is the one, and it was whole before it got its name.
            }
            return new MasterKey(
                TryDecode(File.ReadAllText(secretFile))
                    ?? throw new MasterKeyException($"secret_file '{secretFile}' does not hold a base64 32-byte key; restore it, or move it away to start over (every account must then sign in again)"),
                secretFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyException($"secret_file '{secretFile}' cannot be read or created: {e.Message}");
        }
    }

    /// <summary>
    /// Without its parameters file a passphrase would get a new salt, and every token file written
    /// under the old one would stop opening: the start is refused instead, unless every file there is
    /// of a version before the key derivation (those are read with the passphrase's SHA-256 and
    /// rewritten). Nothing stored is given up without the operator's word.
    /// </summary>
    private static void RefuseNewParametersOverTokensThatNeedOld(string parametersFile, string tokenDirectory, byte[] legacyKey)
    {
        if (File.Exists(parametersFile))
        {
            return;
        }
        string? orphan;
        try
        {
            orphan = TokenFileStore.FindFileNotOpenedBy(Path.GetFullPath(tokenDirectory), legacyKey);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyException($"the token folder '{tokenDirectory}' cannot be read to check it before '{parametersFile}' is created: {e.Message}");
        }
        if (orphan is not null)
        {
            throw new MasterKeyException(
                $"'{parametersFile}' is missing, but the token file '{orphan}' was written under a key it held (or under another key): restore '{parametersFile}' from a backup; if the key changed on purpose, move the token files away, and every account signs in again");
        }
    }

    internal static byte[]? TryDecode(string text)
    {
        var trimmed = text.Trim();
        var buffer = new byte[trimmed.Length];
        return Convert.TryFromBase64String(trimmed, buffer, out var written) && written == Length ? buffer[..Length] : null;
    }
}
