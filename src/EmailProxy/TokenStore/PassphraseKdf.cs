using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EmailProxy.Storage;

namespace EmailProxy.TokenStore;

/// <summary>
/// How a passphrase in <c>$EMAILPROXY_SECRET</c> becomes the 32-byte master key: PBKDF2-HMAC-SHA256
/// with a random salt and an iteration count, stored once in <c>&lt;token_dir&gt;.kdf.json</c> beside
/// the token folder (the folder's own path plus <c>.kdf.json</c>, so that two token folders in one
/// place keep their own, and no file in the token folder is taken for an account's). The file is
/// created on the first start with a passphrase — create-only, so that two first starts agree — and
/// read as it is afterwards, so that a later version can raise the count or change the algorithm for
/// new folders without losing old ones. The salt and count are not secret; the file is 0600 anyway.
/// </summary>
internal sealed record PassphraseKdf
{
    public const string Pbkdf2HmacSha256 = "PBKDF2-HMAC-SHA256";

    /// <summary>OWASP's figure for PBKDF2-HMAC-SHA256 (2023); about a quarter of a second, once per start.</summary>
    public const int DefaultIterations = 600_000;

    public const string FileSuffix = ".kdf.json";

    private const int SaltLength = 16;
    private const int MinIterations = 100_000;
    private const int MaxIterations = 10_000_000;
    private const int MaxSaltLength = 64;

    [JsonPropertyName("algorithm")] public required string Algorithm { get; init; }
    [JsonPropertyName("iterations")] public required int Iterations { get; init; }
    [JsonPropertyName("salt")] public required string Salt { get; init; }

    /// <summary>Where the parameters of the token folder <paramref name="tokenDirectory"/> are kept.</summary>
    public static string FileFor(string tokenDirectory) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(tokenDirectory)) + FileSuffix;

    /// <summary>Fresh parameters: the default algorithm and count, a new random salt.</summary>
    public static PassphraseKdf CreateNew() => new()
    {
        Algorithm = Pbkdf2HmacSha256,
        Iterations = DefaultIterations,
        Salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(SaltLength)),
    };

    /// <summary>Reads the parameters in <paramref name="file"/>, creating them on the first start.</summary>
    /// <exception cref="MasterKeyException">The file is not usable, or cannot be read or created.</exception>
    public static PassphraseKdf LoadOrCreate(string file)
    {
        try
        {
            if (!File.Exists(file))
            {
                var fresh = CreateNew();
                if (Path.GetDirectoryName(file) is { Length: > 0 } folder)
                {
                    Directory.CreateDirectory(folder);
                }
                if (PrivateFile.TryCreate(file, JsonSerializer.SerializeToUtf8Bytes(fresh, TokenJsonContext.Default.PassphraseKdf)))
                {
                    return fresh;
                }
                // Another first start was quicker: its parameters are the ones.
            }
            return Parse(file, File.ReadAllBytes(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MasterKeyException($"the passphrase's key derivation parameters '{file}' cannot be read or created: {e.Message}");
        }
    }

    /// <summary>The 32-byte key for <paramref name="passphrase"/> (UTF-8).</summary>
    public byte[] DeriveKey(string passphrase) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(passphrase), Convert.FromBase64String(Salt), Iterations, HashAlgorithmName.SHA256, MasterKey.Length);

    private static PassphraseKdf Parse(string file, byte[] json)
    {
        string problem;
        try
        {
            var kdf = JsonSerializer.Deserialize(json, TokenJsonContext.Default.PassphraseKdf);
            var salt = kdf is null ? [] : Convert.FromBase64String(kdf.Salt);
            problem = kdf is null ? "it is empty"
                : kdf.Algorithm != Pbkdf2HmacSha256 ? $"the algorithm '{kdf.Algorithm}' is not known to this version"
                : kdf.Iterations is < MinIterations or > MaxIterations ? $"the iteration count {kdf.Iterations} is outside {MinIterations}–{MaxIterations}"
                : salt.Length is < SaltLength or > MaxSaltLength ? $"the salt is {salt.Length} bytes, not {SaltLength}–{MaxSaltLength}"
                : "";
            if (problem.Length == 0)
            {
                return kdf!;
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            problem = e.Message;
        }
        throw new MasterKeyException($"'{file}' does not hold usable key derivation parameters for $EMAILPROXY_SECRET ({problem}); restore it, or move it away to start over (every account must then sign in again)");
    }
}
