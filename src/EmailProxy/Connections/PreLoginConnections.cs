using System.Net;
using EmailProxy.Configuration;

namespace EmailProxy.Connections;

/// <summary>
/// Bounds the connections one client address (<see cref="ClientAddressKey"/>) may hold open
/// before login, over every mail port: each one may make the proxy hold up to a reader's limit
/// (about 100 KiB) for up to 60 seconds, so without a bound one host on the network could grow the
/// proxy's memory with its number of connections. Past <see cref="MaxPerAddress"/> a new
/// connection gets the protocol's last word and is closed at once. Loopback clients are not
/// counted: local users are trusted (docs/security.md), and the proxy's own clients (EspoCRM, the
/// load tests) open thousands from 127.0.0.1. A logged-in session no longer counts.
/// </summary>
internal sealed class PreLoginConnections
{
    /// <summary>Far more than a mail client opens at once (EspoCRM: one per account and protocol), far fewer than a flood.</summary>
    public const int MaxPerAddress = 64;

    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>How many addresses hold pre-login connections now (entries are removed at zero).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_counts)
            {
                return _counts.Count;
            }
        }
    }

    /// <summary>
    /// Counts a new connection of <paramref name="address"/>; false (not counted) when the address
    /// already holds <see cref="MaxPerAddress"/>. <paramref name="key"/> is what to hand to
    /// <see cref="Leave"/>: null when nothing was counted (loopback, unknown address, refused).
    /// </summary>
    public bool TryEnter(IPAddress? address, out string? key)
    {
        key = null;
        if (address is null || ListenAddress.IsLoopback(address))
        {
            return true;
        }
        var candidate = ClientAddressKey.Of(address);
        lock (_counts)
        {
            var count = _counts.GetValueOrDefault(candidate);
            if (count >= MaxPerAddress)
            {
                return false;
            }
            _counts[candidate] = count + 1;
        }
        key = candidate;
        return true;
    }

    /// <summary>The connection counted under <paramref name="key"/> logged in or ended.</summary>
    public void Leave(string key)
    {
        lock (_counts)
        {
            if (_counts.TryGetValue(key, out var count))
            {
                if (count <= 1)
                {
                    _counts.Remove(key);
                }
                else
                {
                    _counts[key] = count - 1;
                }
            }
        }
    }
}
