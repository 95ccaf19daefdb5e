using System.Net;
using EmailProxy.Connections;

namespace EmailProxy.Accounts;

/// <summary>
/// Slows password guessing: every failed check (a wrong password, or an unknown login name where
/// passwords are checked) is answered only after a delay that doubles with the recent failures of
/// the account and of the client's address, whichever has more: <see cref="FirstDelay"/>, then twice
/// that, up to <see cref="MaxDelay"/>. One failure is forgotten per <see cref="QuietPeriod"/> without
/// a new one. The delay comes after the check and only on a failure: a right password is never
/// delayed, so guessers on an account cannot slow or lock out its real user; they lose time on
/// every wrong guess instead. Clients count by <see cref="ClientAddressKey"/> (an IPv6 one by its
/// /64), as the derivation pool's share and the failed-login log count them. Times are the
/// <see cref="TimeProvider"/>'s monotonic timestamps, so that a step of the wall clock can neither
/// freeze the memory of failures nor wipe it.
/// Memory is bounded: at most <see cref="MaxTracked"/> addresses and as many accounts are
/// remembered; past that, forgotten entries go first, then the longest quiet ones.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(4);
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(1);
    public const int MaxTracked = 10_000;

    /// <summary>More failures than this all get <see cref="MaxDelay"/>; the count stops growing here.</summary>
    private const int MaxCount = 16;

    private readonly FailureTable _accounts = new(StringComparer.OrdinalIgnoreCase);
    private readonly FailureTable _addresses = new(StringComparer.Ordinal);

    /// <summary>How many accounts and addresses are remembered now (for tests of the bound).</summary>
    public int TrackedCount => _accounts.Count + _addresses.Count;

    /// <summary>Records a failed check and waits the delay it earns before the failure may be answered.</summary>
    /// <param name="account">The configured account that was tried; null for an unknown login name (not tracked: names are the client's to choose).</param>
    /// <param name="address">The client's address; null when unknown (not tracked).</param>
    public Task DelayFailureAsync(string? account, IPAddress? address, CancellationToken cancellationToken) =>
        Task.Delay(RecordFailure(account, address), time, cancellationToken);

    /// <summary>Records a failed check; returns the delay it earns.</summary>
    public TimeSpan RecordFailure(string? account, IPAddress? address)
    {
        var now = time.GetTimestamp();
        var count = 1;
        if (account is not null)
        {
            count = Math.Max(count, _accounts.Add(account, now, time));
        }
        if (address is not null)
        {
            count = Math.Max(count, _addresses.Add(ClientAddressKey.Of(address), now, time));
        }
        return DelayFor(count);
    }

    /// <summary>The delay earned by the <paramref name="failures"/>-th recent failure.</summary>
    public static TimeSpan DelayFor(int failures)
    {
        var delay = FirstDelay * Math.Pow(2, Math.Clamp(failures, 1, MaxCount) - 1);
        return delay < MaxDelay ? delay : MaxDelay;
    }

    private static int Decayed(int count, long last, long now, TimeProvider time)
    {
        var quietPeriods = time.GetElapsedTime(last, now).Ticks / QuietPeriod.Ticks;
        return quietPeriods >= count ? 0 : count - (int)quietPeriods;
    }

    /// <summary>Failure counts by key, with the time of the last failure; bounded by <see cref="MaxTracked"/>.</summary>
    private sealed class FailureTable(StringComparer comparer)
    {
        private readonly Dictionary<string, (int Count, long Last)> _entries = new(comparer);

        public int Count
        {
            get
            {
                lock (_entries)
                {
                    return _entries.Count;
                }
            }
        }

        /// <summary>Adds one failure; returns the recent failures counting this one.</summary>
        public int Add(string key, long now, TimeProvider time)
        {
            lock (_entries)
            {
                var count = 1;
                if (_entries.TryGetValue(key, out var entry))
                {
                    count = Math.Min(Decayed(entry.Count, entry.Last, now, time) + 1, MaxCount);
                }
                else if (_entries.Count >= MaxTracked)
                {
                    MakeRoom(now, time);
                }
                _entries[key] = (count, now);
                return count;
            }
        }

        private void MakeRoom(long now, TimeProvider time)
        {
            foreach (var (key, entry) in _entries)
            {
                if (Decayed(entry.Count, entry.Last, now, time) == 0)
                {
                    _entries.Remove(key);
                }
            }
            if (_entries.Count < MaxTracked)
            {
                return;
            }
            var oldest = _entries.MinBy(pair => pair.Value.Last).Key;
            _entries.Remove(oldest);
        }
    }
}
