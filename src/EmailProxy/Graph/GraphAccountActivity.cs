namespace EmailProxy.Graph;

/// <summary>One account's Graph activity (<see cref="GraphActivity"/>), immutable.</summary>
internal sealed record GraphAccountActivity
{
    public DateTimeOffset? LastSendAt { get; init; }
    public string? LastResult { get; init; }
    public DateTimeOffset? ThrottledUntil { get; init; }
    public DateTimeOffset? SwitchedAt { get; init; }
    public string? SwitchReason { get; init; }

    /// <summary>The switch mark beside the token file has been looked for.</summary>
    public bool MarkRead { get; init; }
}
