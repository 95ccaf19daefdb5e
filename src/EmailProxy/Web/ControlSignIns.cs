using Duende.IdentityModel;
using EmailProxy.OAuth2;

namespace EmailProxy.Web;

/// <summary>
/// The sign-ins started through the control endpoints, by a random id, so that the command line can
/// read their outcome after they complete. Bounded: an entry is kept until <see cref="KeepAfterExpiry"/>
/// past its sign-in's expiry, and never more than <see cref="MaxEntries"/> (the oldest go first).
/// Joining a sign-in under way gives the id it already has.
/// </summary>
internal sealed class ControlSignIns(TimeProvider time)
{
    public const int MaxEntries = 64;
    public static readonly TimeSpan KeepAfterExpiry = TimeSpan.FromMinutes(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingSignIn> _byId = new(StringComparer.Ordinal);

    /// <summary>The id of <paramref name="pending"/>, registered now if it is new.</summary>
    public string Register(PendingSignIn pending)
    {
        lock (_gate)
        {
            Prune();
            foreach (var (id, known) in _byId)
            {
                if (ReferenceEquals(known, pending))
                {
                    return id;
                }
            }
            if (_byId.Count >= MaxEntries)
            {
                // Ended sign-ins go first: a command still waiting on one under way keeps its id.
                _byId.Remove(_byId.MinBy(e => (e.Value.Completion.IsCompleted ? 0 : 1, e.Value.ExpiresAt)).Key);
            }
            var created = CryptoRandom.CreateUniqueId(16);
            _byId[created] = pending;
            return created;
        }
    }

    public PendingSignIn? Find(string id)
    {
        lock (_gate)
        {
            Prune();
            return _byId.GetValueOrDefault(id);
        }
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (id, pending) in _byId)
        {
            if (pending.ExpiresAt + KeepAfterExpiry <= now)
            {
                _byId.Remove(id);
            }
        }
    }
}
