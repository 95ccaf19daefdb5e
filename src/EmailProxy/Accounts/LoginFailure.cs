namespace EmailProxy.Accounts;

/// <summary>Why a client's login failed; <see cref="None"/> when it did not.</summary>
internal enum LoginFailure
{
    None,
    UnknownAccount,
    WrongPassword,
    SignInRequired,
    TokenUnavailable,
    Rejected,
    Unavailable,
}
