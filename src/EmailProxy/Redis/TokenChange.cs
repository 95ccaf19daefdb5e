namespace EmailProxy.Redis;

/// <summary>
/// What a replica changed in an account's tokens, told to the others (<see cref="RedisTokenChanges"/>): each drops what it
/// holds in memory of the account, and what was redeemed from its tokens (the Graph token) too unless they were only refreshed.
/// </summary>
internal enum TokenChange
{
    /// <summary>A refresh (or a Graph redemption) rotated them: the same sign-in, so what was redeemed from it stays good.</summary>
    Refreshed,

    /// <summary>A new sign-in replaced them (or <c>tokens migrate</c> wrote them).</summary>
    SignedIn,

    /// <summary>They were removed (<c>tokens clear</c>, <c>/forget</c>).</summary>
    Cleared,

    /// <summary>The provider refused the refresh token (invalid_grant): the account needs a sign-in.</summary>
    Refused,
}
