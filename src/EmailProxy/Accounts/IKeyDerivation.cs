namespace EmailProxy.Accounts;

/// <summary>
/// The slow part of a password check: deriving the key from the password and comparing it with a
/// <c>password_hash</c>. An interface only as a test seam: tests (and the test-only hook of the real
/// process, <see cref="FileGatedKeyDerivation"/>) put a derivation that blocks in its place.
/// </summary>
internal interface IKeyDerivation
{
    /// <summary>Whether <paramref name="password"/> matches <paramref name="passwordHash"/>; CPU-bound, synchronous, tens of milliseconds.</summary>
    bool Matches(string passwordHash, string password);
}
