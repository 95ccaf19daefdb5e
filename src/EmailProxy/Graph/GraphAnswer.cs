namespace EmailProxy.Graph;

/// <summary>
/// What Graph answered one request: its status, its error code and message when the body is Graph's
/// JSON error (<c>{"error":{"code":…,"message":…}}</c>), the Retry-After wait, or that no answer
/// came (<see cref="NetworkFailure"/>; <see cref="MaybeSent"/> when the request had gone out).
/// </summary>
internal sealed record GraphAnswer(int Status, string? Code, string? Message, TimeSpan? RetryAfter, bool IsJson)
{
    public string? NetworkFailure { get; init; }

    /// <summary>The request may have reached Graph before the failure: the message may have been sent.</summary>
    public bool MaybeSent { get; init; }

    /// <summary>For a POST that creates something (a draft, an upload session): the JSON body (bounded).</summary>
    public string? Body { get; init; }

    public static GraphAnswer Failed(string failure, bool maybeSent) => new(0, null, null, null, false) { NetworkFailure = failure, MaybeSent = maybeSent };
}
