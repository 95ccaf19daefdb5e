using System.Net;
using EmailProxy.Connections;

namespace EmailProxy.LocalTls;

/// <summary>
/// Lets one line per client address and minute through, for the local TLS notices (a failed
/// handshake, a ClientHello after a plaintext greeting): a client that retries every few seconds
/// is named once a minute, not on every connect. Addresses are grouped by
/// <see cref="ClientAddressKey"/>, as <see cref="FailedLoginLog"/> groups them; at most
/// <see cref="MaxTrackedAddresses"/> are remembered, and any further address shares one key
/// (<see cref="FailedLoginLog.OtherAddresses"/>). The clock is a <see cref="TimeProvider"/>.
/// </summary>
internal sealed class AddressMinuteGate(TimeProvider time)
{
    public const int MaxTrackedAddresses = 4096;

    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, long> _admitted = new(StringComparer.Ordinal);

    /// <summary>True when nothing from <paramref name="address"/> was admitted in the last minute (and counts this one).</summary>
    public bool Admit(IPAddress? address)
    {
        var key = address is null ? FailedLoginLog.OtherAddresses : ClientAddressKey.Of(address);
        var now = time.GetTimestamp();
        lock (_admitted)
        {
            if (!_admitted.ContainsKey(key) && _admitted.Count >= MaxTrackedAddresses)
            {
                foreach (var stale in _admitted.Where(e => time.GetElapsedTime(e.Value, now) >= Interval).Select(e => e.Key).ToList())
                {
                    _admitted.Remove(stale);
                }
                if (_admitted.Count >= MaxTrackedAddresses)
                {
                    key = FailedLoginLog.OtherAddresses;
                }
            }
            if (_admitted.TryGetValue(key, out var last) && time.GetElapsedTime(last, now) < Interval)
            {
                return false;
            }
            _admitted[key] = now;
            return true;
        }
    }
}
