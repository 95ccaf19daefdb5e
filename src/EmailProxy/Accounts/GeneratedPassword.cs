using System.Security.Cryptography;

namespace EmailProxy.Accounts;

/// <summary>
/// The client password of an account made from a template: made at random when its first sign-in ends,
/// kept only as its hash (<see cref="Hash"/>, <see cref="PasswordVerifier"/>'s format) beside the account's
/// tokens, and shown once: the first <see cref="Take"/> gets it, every later one null.
/// </summary>
internal sealed class GeneratedPassword
{
    /// <summary>20 characters of 32 kinds: 100 bits.</summary>
    public const int Length = 20;

    /// <summary>Lower-case letters and digits without the ones people confuse (l, o, 0, 1): 32 characters, easy to type into a CRM's form.</summary>
    private const string Alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    private string? _value;

    /// <summary>Made by <see cref="New"/>; tests make them with a value of their own.</summary>
    internal GeneratedPassword(string value, string hash)
    {
        _value = value;
        Hash = hash;
    }

    /// <summary>What is stored: the password's hash, never the password.</summary>
    public string Hash { get; }

    public static GeneratedPassword New()
    {
        var value = RandomNumberGenerator.GetString(Alphabet, Length);
        return new GeneratedPassword(value, PasswordVerifier.Hash(value));
    }

    private Action? _onTaken;

    /// <summary>The password the first time; null after that, so that it is shown once only.</summary>
    public string? Take()
    {
        var value = Interlocked.Exchange(ref _value, null);
        if (value is not null)
        {
            Interlocked.Exchange(ref _onTaken, null)?.Invoke();
        }
        return value;
    }

    /// <summary>The password while nobody has taken it, without taking it: to keep a sealed copy (<see cref="UnshownPasswords"/>).</summary>
    public string? Peek() => Volatile.Read(ref _value);

    /// <summary>Runs <paramref name="action"/> once when <see cref="Take"/> gives the password (at once if it was given already).</summary>
    public void OnTaken(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Volatile.Write(ref _onTaken, action);
        if (Taken)
        {
            Interlocked.Exchange(ref _onTaken, null)?.Invoke();
        }
    }

    /// <summary>Whether <see cref="Take"/> has given it (or dropped it): nobody can be shown it any more.</summary>
    public bool Taken => Volatile.Read(ref _value) is null;

    public override string ToString() => "GeneratedPassword { (hidden) }";
}
