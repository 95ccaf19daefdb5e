using System.Collections.Concurrent;
using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The XOAUTH2 check every fake server makes: decode the client's response, look its token up at the fake
/// identity server for its user (<see cref="FakeIdentityServer.IsValid"/>), count attempts and successes, keep
/// the decoded responses, refuse the next few attempts on request, and play a provider's error challenge.
/// </summary>
internal sealed class FakeXOAuth2Verifier(FakeIdentityServer identity)
{
    private readonly ConcurrentQueue<string> _decoded = new();
    private int _rejectNext;
    private int _attempts;
    private int _successes;

    public int Attempts => Volatile.Read(ref _attempts);

    public int Successes => Volatile.Read(ref _successes);

    /// <summary>The decoded responses, e.g. <c>user=u\x01auth=Bearer t\x01\x01</c> (not those that were not base64).</summary>
    public IReadOnlyList<string> DecodedResponses => [.. _decoded];

    /// <summary>The next <paramref name="count"/> attempts fail even with a valid token.</summary>
    public void RejectNext(int count) => Interlocked.Exchange(ref _rejectNext, count);

    /// <summary>Checks a base64 response; the user it names when its token is valid for that user, else null.</summary>
    public string? Verify(string? base64)
    {
        Interlocked.Increment(ref _attempts);
        if (XOAuth2Response.Decode(base64) is not { } decoded)
        {
            return null;
        }

        _decoded.Enqueue(decoded);
        if (TakeRejection() || XOAuth2Response.Parse(decoded) is not { } credentials || !identity.IsValid(credentials.Token, credentials.User))
        {
            return null;
        }

        Interlocked.Increment(ref _successes);
        return credentials.User;
    }

    /// <summary>
    /// The mailbox named by a response that carries an app-only token whose app may not open it, else null. Exchange
    /// accepts such a login and answers every later mailbox command with "User is authenticated but not connected."
    /// </summary>
    public string? UnconnectedAppUser(string? base64) =>
        XOAuth2Response.Decode(base64) is { } decoded
        && XOAuth2Response.Parse(decoded) is { } credentials
        && identity.IsUnconnectedAppToken(credentials.Token, credentials.User)
            ? credentials.User
            : null;

    /// <summary>
    /// A refused token answered as Gmail does: <paramref name="continuation"/> and the base64 of
    /// <paramref name="json"/>, then the client's (empty) answer line, recorded in <paramref name="commands"/> by its
    /// length only. False when the client closed instead of answering; the caller then sends the final failure.
    /// </summary>
    public static async Task<bool> PlayErrorChallengeAsync(FakeConnection connection, string continuation, string json, ObservableLog commands, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(commands);
        await connection.WriteLineAsync($"{continuation} {Convert.ToBase64String(Encoding.UTF8.GetBytes(json))}", cancellationToken);
        if (await connection.ReadLineAsync(cancellationToken) is not { } answer)
        {
            return false;
        }

        commands.Add($"(answer to the challenge: {answer.Length} characters)");
        return true;
    }

    private bool TakeRejection()
    {
        while (true)
        {
            var reject = Volatile.Read(ref _rejectNext);
            if (reject <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _rejectNext, reject - 1, reject) == reject)
            {
                return true;
            }
        }
    }
}
