using Microsoft.AspNetCore.Http;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Two additions for the scale-out tests: OAuth 2.1's strict refresh-token rotation (a rotated refresh token used again
/// is refused with invalid_grant and its whole family revoked, as providers that follow OAuth 2.1 do), and holding a
/// refresh request until the test releases it (to kill the replica that sent it meanwhile). A held request whose client
/// goes away is dropped unanswered and uses nothing up, as a request that never arrived.
/// </summary>
internal sealed partial class FakeIdentityServer
{
    /// <summary>Each refresh token's family: the first refresh token of its sign-in.</summary>
    private readonly Dictionary<string, string> _families = new(StringComparer.Ordinal);

    /// <summary>Refresh tokens that were rotated (used once, a successor issued).</summary>
    private readonly HashSet<string> _rotated = new(StringComparer.Ordinal);

    private TaskCompletionSource? _heldRefresh;
    private TaskCompletionSource _refreshHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _refreshAbandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _replayedRefreshTokens;
    private int _abandonedRefreshRequests;

    /// <summary>OAuth 2.1 rotation: a rotated refresh token used again is refused and its family revoked. Off by default.</summary>
    public bool StrictRefreshRotation { get; set; }

    /// <summary>How many rotated refresh tokens were used again (each revoked its family).</summary>
    public int ReplayedRefreshTokens => Volatile.Read(ref _replayedRefreshTokens);

    /// <summary>How many held refresh requests were dropped because their client had gone when they were released.</summary>
    public int AbandonedRefreshRequests => Volatile.Read(ref _abandonedRefreshRequests);

    /// <summary>Completes when a held refresh request's client went away (Kestrel saw its connection end): it is dropped unanswered.</summary>
    public Task RefreshAbandoned => _refreshAbandoned.Task;

    /// <summary>Holds the next refresh request (only that one) until <see cref="ReleaseHeldRefresh"/>; <see cref="RefreshHeld"/> completes when it arrives.</summary>
    public void HoldNextRefresh()
    {
        lock (_gate)
        {
            _heldRefresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _refreshHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Completes when the request <see cref="HoldNextRefresh"/> asked for arrives and is held.</summary>
    public Task RefreshHeld
    {
        get
        {
            lock (_gate)
            {
                return _refreshHeld.Task;
            }
        }
    }

    /// <summary>Lets the held request go on: answered if its client is still there, else dropped unanswered.</summary>
    public void ReleaseHeldRefresh()
    {
        lock (_gate)
        {
            _heldRefresh?.TrySetResult();
        }
    }

    /// <summary>
    /// Holds this refresh request if one is to be held; false when its client went away meanwhile (it is then not handled).
    /// </summary>
    private async Task<bool> HoldIfAskedAsync(string grantType, HttpContext context)
    {
        TaskCompletionSource? hold;
        lock (_gate)
        {
            if (grantType != "refresh_token" || _heldRefresh is not { Task.IsCompleted: false } pending || _refreshHeld.Task.IsCompleted)
            {
                return true;
            }
            hold = pending;
            _refreshHeld.TrySetResult();
        }
        try
        {
            await hold.Task.WaitAsync(context.RequestAborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _abandonedRefreshRequests);
            _refreshAbandoned.TrySetResult();
            return false;
        }
    }

    /// <summary>Under <c>_gate</c>: strict mode's refusal of a rotated refresh token used again (its family revoked), or null.</summary>
    private (int Status, string Json)? RefuseReplay(string refreshToken)
    {
        if (!StrictRefreshRotation || !_rotated.Contains(refreshToken))
        {
            return null;
        }
        Interlocked.Increment(ref _replayedRefreshTokens);
        var family = _families.GetValueOrDefault(refreshToken, refreshToken);
        foreach (var (token, itsFamily) in _families)
        {
            if (itsFamily == family && _refreshTokens.TryGetValue(token, out var issued))
            {
                issued.Revoked = true;
            }
        }
        return Error(400, "invalid_grant", "AADSTS70000: The refresh token was already used (replayed); every token of its family is revoked (fake OAuth 2.1 rotation).");
    }

    /// <summary>Under <c>_gate</c>: <paramref name="used"/> was rotated into <paramref name="successor"/>, of the same family.</summary>
    private void NoteRotation(string used, string? successor)
    {
        _rotated.Add(used);
        var family = _families.GetValueOrDefault(used, used);
        _families[used] = family;
        if (successor is not null)
        {
            _families[successor] = family;
        }
    }
}
