using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EmailProxy.Accounts;

/// <summary>
/// Checks the client's password against an account's <c>password_hash</c> (ASP.NET Core Identity's
/// PBKDF2 format). The slow derivation runs once per account and password: a match is remembered as
/// a SHA-256 of the password, so later logins cost a microsecond, not a PBKDF2, and are answered
/// inline. Every other check goes through a <see cref="KeyDerivationPool"/>: off the sockets'
/// threads, a few at a time, with a bounded waiting line.
/// </summary>
internal sealed class PasswordVerifier(IKeyDerivation derivation, KeyDerivationPool pool)
{
    /// <summary>
    /// Per account, the hash a password was verified against and that password's digest: remembered for that hash only,
    /// so that a reload which gives the account a new <c>password_hash</c> makes the old password fail at once.
    /// </summary>
    private readonly ConcurrentDictionary<string, (string Hash, byte[] Digest)> _verified = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The real derivation, the default pool.</summary>
    public PasswordVerifier()
        : this(Pbkdf2KeyDerivation.Instance, new KeyDerivationPool())
    {
    }

    /// <summary>The verifier of the running proxy: the real derivation, unless the test-only <see cref="FileGatedKeyDerivation.Variable"/> is set.</summary>
    public static PasswordVerifier ForThisProcess() => new(FileGatedKeyDerivation.FromEnvironment(Pbkdf2KeyDerivation.Instance), new KeyDerivationPool());

    /// <summary>
    /// The release file of the test-only <see cref="FileGatedKeyDerivation"/> when
    /// <see cref="FileGatedKeyDerivation.Variable"/> set it up (every password check then waits for
    /// that file); null otherwise. The host warns at start when it is set, so that a stray setting
    /// cannot silently stop every login.
    /// </summary>
    public string? TestGateFile => (derivation as FileGatedKeyDerivation)?.ReleaseFile;

    public static string Hash(string password) => Pbkdf2KeyDerivation.Hash(password);

    /// <summary>Far longer than any value <see cref="Hash"/> makes (84 characters), short enough to decode on the stack.</summary>
    public const int MaxHashLength = 1024;

    /// <summary>Whether the text is a value <see cref="Hash"/> could have made; any text, of any length, is safe to pass.</summary>
    public static bool IsWellFormed(string hash)
    {
        if (hash.Length > MaxHashLength)
        {
            return false;
        }
        Span<byte> buffer = stackalloc byte[MaxHashLength / 4 * 3];
        return Convert.TryFromBase64String(hash, buffer, out var written) && written > 13 && buffer[0] == 0x01;
    }

    /// <summary>
    /// What a check against <paramref name="hash"/> costs, in PBKDF2 iterations: ASP.NET Core
    /// Identity's V3 format (marker 0x01) holds the count big-endian at bytes 5-8; the V2 format
    /// (marker 0x00) always used 1,000. 0 for a text that is neither.
    /// </summary>
    public static int IterationsOf(string hash)
    {
        if (hash.Length > MaxHashLength)
        {
            return 0;
        }
        Span<byte> buffer = stackalloc byte[MaxHashLength / 4 * 3];
        if (!Convert.TryFromBase64String(hash, buffer, out var written) || written < 1)
        {
            return 0;
        }
        return buffer[0] switch
        {
            0x00 => 1000,
            0x01 when written >= 9 => (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(buffer[5..9]), int.MaxValue),
            _ => 0,
        };
    }

    /// <summary>
    /// The check as a login needs it, through the pool (<see cref="KeyDerivationPool.RunAsync"/>):
    /// the client's share of it, then its <paramref name="turn"/>, then a remembered password is
    /// answered without a derivation (after the turn, never before: else a guesser could test
    /// guesses against the remembered digest as fast as it connects), and anything else is derived
    /// in a slot, or <see cref="PasswordCheck.Busy"/> when the pool's line is full.
    /// </summary>
    /// <param name="accountName">The account whose password is remembered on a match; null for a check whose result does not count (an unknown login name checked against another account's hash, so that it costs the same).</param>
    /// <param name="client">The client's address, for its share of the pool (<see cref="KeyDerivationPool.MaxPerAddress"/>); null when unknown.</param>
    /// <param name="turn">The <see cref="LoginThrottle"/>'s wait for this client; none when null.</param>
    /// <param name="settle">Told the result before the client's share of the pool is given back (to record a failure for the next turn).</param>
    public async Task<PasswordCheck> VerifyAsync(string? accountName, string passwordHash, string password, IPAddress? client, CancellationToken cancellationToken,
        Func<CancellationToken, Task<bool>>? turn = null, Action<PasswordCheck>? settle = null) =>
        await pool.RunAsync(() => accountName is null ? derivation.Matches(passwordHash, password) : Verify(accountName, passwordHash, password), client, cancellationToken,
            turn, accountName is null ? null : () => IsRemembered(accountName, passwordHash, Digest(password)), settle);

    /// <summary>The whole check on the caller's thread (the remembered digest, else the derivation); <see cref="VerifyAsync"/> runs it in the pool.</summary>
    public bool Verify(string accountName, string passwordHash, string password)
    {
        var digest = Digest(password);
        if (IsRemembered(accountName, passwordHash, digest))
        {
            return true;
        }
        if (!derivation.Matches(passwordHash, password))
        {
            return false;
        }
        _verified[accountName] = (passwordHash, digest);
        return true;
    }

    private static byte[] Digest(string password) => SHA256.HashData(Encoding.UTF8.GetBytes(password));

    private bool IsRemembered(string accountName, string passwordHash, byte[] digest) =>
        _verified.TryGetValue(accountName, out var known)
        && string.Equals(known.Hash, passwordHash, StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(known.Digest, digest);
}
