namespace EmailProxy.Accounts;

/// <summary>What a password check found, or that it could not be run now.</summary>
internal enum PasswordCheck
{
    Mismatch,
    Match,

    /// <summary>Every derivation slot was taken and the waiting line full: a temporary failure, nothing was checked.</summary>
    Busy,

    /// <summary>The client's turn (<see cref="LoginThrottle"/>) was too far off: a temporary failure, nothing was checked.</summary>
    TooManyFailures,
}
