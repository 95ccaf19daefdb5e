using System.Net;
using EmailProxy.Connections;

namespace EmailProxy.Accounts;

/// <summary>
/// Slows password guessing by making each check wait its turn: a client address with recent failed
/// checks gets one check per delay (<see cref="FirstDelay"/>, doubling with each failure, up to
/// <see cref="MaxDelay"/>), its checks lined up one after another, and a login name with recent
/// failures has each check wait that delay after the last failure. The wait comes BEFORE the check
/// and before any answer, right or wrong: a guesser that hangs up early learns nothing and gains no
/// time, and a right password answers as late as a wrong one would. An address whose line is
/// longer than <see cref="MaxAddressWait"/> is refused at once (a temporary failure; nothing is
/// checked). Unknown login names count by name like known ones, so the delays do not tell which
/// names exist. One failure is forgotten per <see cref="QuietPeriod"/> without a new one. A login
/// name's delay never lines its logins up: guessers on an account can delay its real user by at
/// most <see cref="MaxDelay"/>, not lock it out.
/// Clients count by <see cref="ClientAddressKey"/> (an IPv6 one by its /64), as the derivation
/// pool's share and the failed-login log count them. Times are the <see cref="TimeProvider"/>'s
/// monotonic timestamps, so that a step of the wall clock can neither freeze the memory of
/// failures nor wipe it. Memory is bounded: at most <see cref="MaxTracked"/> addresses and as many
/// login names (each cut to <see cref="MaxNameLength"/> characters) are remembered; past that,
/// forgotten entries go first, then the longest quiet ones.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(4);
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(1);

    /// <summary>The longest an address's check may wait for its turn; past it the login is refused for now.</summary>
    public static readonly TimeSpan MaxAddressWait = TimeSpan.FromSeconds(20);

    public const int MaxTracked = 10_000;

    /// <summary>What of a login name is remembered: names are the client's to choose, and may be 8 KiB long.</summary>
    public const int MaxNameLength = 256;

    /// <summary>More failures than this all get <see cref="MaxDelay"/>; the count stops growing here.</summary>
    private const int MaxCount = 16;

    private readonly FailureTable _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly FailureTable _addresses = new(StringComparer.Ordinal);

    /// <summary>How many login names and addresses are remembered now (for tests of the bound).</summary>
    public int TrackedCount => _names.Count + _addresses.Count;

    /// <summary>
    /// Waits until the client may have a password checked: false (at once) when its address's line is
    /// longer than <see cref="MaxAddressWait"/>. Call it before every check, and <see cref="RecordFailure"/>
    /// after a failed one.
    /// </summary>
    /// <param name="loginName">The login name the client gave (known or not); null when there is none (the admin page).</param>
    /// <param name="address">The client's address; null when unknown (not tracked).</param>
    public async Task<bool> WaitTurnAsync(string? loginName, IPAddress? address, CancellationToken cancellationToken)
    {
        if (Turn(loginName, address) is not { } wait)
        {
            return false;
        }
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken);
        }
        return true;
    }

    /// <summary>The wait before the client's next check, its place in its address's line taken; null when the line is too long.</summary>
    public TimeSpan? Turn(string? loginName, IPAddress? address)
    {
        var now = time.GetTimestamp();
        var wait = TimeSpan.Zero;
        if (address is not null)
        {
            if (_addresses.Reserve(ClientAddressKey.Of(address), now, time) is not { } lined)
            {
                return null;
            }
            wait = lined;
        }
        if (loginName is not null && _names.SinceLastFailure(NameKey(loginName), now, time) is var named && named > wait)
        {
            wait = named;
        }
        return wait;
    }

    /// <summary>Records a failed check; returns the delay it earns (the wait before the next check).</summary>
    public TimeSpan RecordFailure(string? loginName, IPAddress? address)
    {
        var now = time.GetTimestamp();
        var count = 1;
        if (loginName is not null)
        {
            count = Math.Max(count, _names.Add(NameKey(loginName), now, time));
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

    private static string NameKey(string loginName) => loginName.Length <= MaxNameLength ? loginName : loginName[..MaxNameLength];

    private static int Decayed(int count, long last, long now, TimeProvider time)
    {
        var quietPeriods = time.GetElapsedTime(last, now).Ticks / QuietPeriod.Ticks;
        return quietPeriods >= count ? 0 : count - (int)quietPeriods;
    }

    private static long Ticks(TimeSpan span, TimeProvider time) => (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary>
    /// Failure counts by key, with the time of the last failure and the earliest time the key's next
    /// check may start; bounded by <see cref="MaxTracked"/>.
    /// </summary>
    private sealed class FailureTable(StringComparer comparer)
    {
        private readonly Dictionary<string, (int Count, long Last, long Next)> _entries = new(comparer);

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
                var next = 0L;
                if (_entries.TryGetValue(key, out var entry))
                {
                    count = Math.Min(Decayed(entry.Count, entry.Last, now, time) + 1, MaxCount);
                    next = entry.Next;
                }
                else if (_entries.Count >= MaxTracked)
                {
                    MakeRoom(now, time);
                }
                _entries[key] = (count, now, Math.Max(next, now + Ticks(DelayFor(count), time)));
                return count;
            }
        }

        /// <summary>
        /// Takes the key's next place in line: the wait until it (zero for a key without recent
        /// failures, which has no line), or null without taking one when that is past <see cref="MaxAddressWait"/>.
        /// </summary>
        public TimeSpan? Reserve(string key, long now, TimeProvider time)
        {
            lock (_entries)
            {
                if (!_entries.TryGetValue(key, out var entry) || Decayed(entry.Count, entry.Last, now, time) is not (> 0 and var count))
                {
                    return TimeSpan.Zero;
                }
                var start = Math.Max(now, entry.Next);
                var wait = time.GetElapsedTime(now, start);
                if (wait > MaxAddressWait)
                {
                    return null;
                }
                _entries[key] = entry with { Next = start + Ticks(DelayFor(count), time) };
                return wait;
            }
        }

        /// <summary>What is left of the delay the key's recent failures earned since its last one.</summary>
        public TimeSpan SinceLastFailure(string key, long now, TimeProvider time)
        {
            lock (_entries)
            {
                if (!_entries.TryGetValue(key, out var entry) || Decayed(entry.Count, entry.Last, now, time) is not (> 0 and var count))
                {
                    return TimeSpan.Zero;
                }
                var left = DelayFor(count) - time.GetElapsedTime(entry.Last, now);
                return left > TimeSpan.Zero ? left : TimeSpan.Zero;
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
