using Microsoft.AspNetCore.Identity;

namespace EmailProxy.Accounts;

/// <summary>ASP.NET Core Identity's PBKDF2 check, the format <c>emailproxy hash-password</c> writes.</summary>
internal sealed class Pbkdf2KeyDerivation : IKeyDerivation
{
    public static readonly Pbkdf2KeyDerivation Instance = new();

    private static readonly PasswordHasher<object> Hasher = new();
    private static readonly object User = new();

    private Pbkdf2KeyDerivation()
    {
    }

    public static string Hash(string password) => Hasher.HashPassword(User, password);

    public bool Matches(string passwordHash, string password) =>
        Hasher.VerifyHashedPassword(User, passwordHash, password) != PasswordVerificationResult.Failed;
}
