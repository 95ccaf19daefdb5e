using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;

namespace EmailProxy.Accounts;

/// <summary>
/// Checks the client's password against an account's <c>password_hash</c> (ASP.NET Core Identity's
/// PBKDF2 format). The slow hash runs once per account and password: a match is remembered as a
/// SHA-256 of the password, so later logins cost a microsecond, not a PBKDF2.
/// </summary>
internal sealed class PasswordVerifier
{
    private static readonly PasswordHasher<object> Hasher = new();
    private static readonly object User = new();
    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.OrdinalIgnoreCase);

    public static string Hash(string password) => Hasher.HashPassword(User, password);

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

    public bool Verify(string accountName, string passwordHash, string password)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        if (_verified.TryGetValue(accountName, out var known) && CryptographicOperations.FixedTimeEquals(known, digest))
        {
            return true;
        }
        var result = Hasher.VerifyHashedPassword(User, passwordHash, password);
        if (result == PasswordVerificationResult.Failed)
        {
            return false;
        }
        _verified[accountName] = digest;
        return true;
    }
}
