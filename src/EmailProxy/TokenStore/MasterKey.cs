using System.Security.Cryptography;
using System.Text;

namespace EmailProxy.TokenStore;

/// <summary>
/// The 32-byte key that encrypts every token file. <c>$EMAILPROXY_SECRET</c> wins (base64 of 32
/// bytes, or else any passphrase, which is hashed to 32 bytes); otherwise <c>secret_file</c> holds
/// it as base64, created 0600 with fresh random bytes on first start.
/// </summary>
internal sealed class MasterKey
{
    public const string EnvironmentVariable = "EMAILPROXY_SECRET";
    public const int Length = 32;

    private MasterKey(byte[] key, string source)
    {
        Key = key;
        Source = source;
    }

    public byte[] Key { get; }

    /// <summary>Where the key came from, for the start-up log (never the key itself).</summary>
    public string Source { get; }

    public static MasterKey FromBytes(byte[] key) =>
        key.Length == Length ? new MasterKey(key, "memory") : throw new ArgumentException("The key must be 32 bytes.", nameof(key));

    /// <exception cref="MasterKeyException">The key file exists but is not a key, or cannot be created.</exception>
    public static MasterKey Load(string secretFile, string? environmentValue)
    {
        if (!string.IsNullOrEmpty(environmentValue))
        {
            var decoded = TryDecode(environmentValue);
            return new MasterKey(decoded ?? SHA256.HashData(Encoding.UTF8.GetBytes(environmentValue)), $"${EnvironmentVariable}");
        }
        try
        {
            if (File.Exists(secretFile))
            {
                return new MasterKey(
                    TryDecode(File.ReadAllText(secretFile))
                        ?? throw new MasterKeyException($"secret_file '{secretFile}' does not hold a base64 32-byte key; restore it, or move it away to start over (every account must then sign in again)"),
                    secretFile);
            }
            var directory = Path.GetDirectoryName(secretFile);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
            var key = RandomNumberGenerator.GetBytes(Length);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using (var stream = new FileStream(secretFile, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
                stream.Flush(flushToDisk: true);
            }
            return new MasterKey(key, secretFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyException($"secret_file '{secretFile}' cannot be read or created: {e.Message}");
        }
    }

    private static byte[]? TryDecode(string text)
    {
        var trimmed = text.Trim();
        var buffer = new byte[trimmed.Length];
        return Convert.TryFromBase64String(trimmed, buffer, out var written) && written == Length ? buffer[..Length] : null;
    }
}

internal sealed class MasterKeyException(string message) : Exception(message);
