using System.Net;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Connections;

/// <summary>
/// Bounds how many lines about refused clients one client address can put in the log: its failed
/// logins (mail fronts and the admin page's admin_password), its pre-login sessions that were
/// refused or closed without a login, and its sign-in returns with an unknown state all count in
/// one per-address share. The first <see cref="LoggedPerMinute"/> of a minute are logged in full,
/// the rest at Debug only, and when the minute is over one line says how many more there were
/// (<c>… 53 more failed logins or refused connections from 10.0.0.5 in the last minute</c>).
/// Addresses are grouped by <see cref="ClientAddressKey"/> (an IPv6 client by its /64), as the
/// login throttle groups them. One instance serves the whole process. Minutes are counted from
/// the first failure after a quiet one; the clock is a <see cref="TimeProvider"/>, so that tests
/// drive it. Memory is bounded too: at most <see cref="MaxTrackedAddresses"/> addresses are
/// tracked, and failures from any further address share one count ("other addresses").
/// </summary>
internal sealed partial class FailedLoginLog(TimeProvider time, ILogger<FailedLoginLog> log) : IDisposable
{
    /// <summary>Lines of one address logged in full per minute.</summary>
    public const int LoggedPerMinute = 10;

    /// <summary>Addresses tracked at once; the ones beyond share the count of <see cref="OtherAddresses"/>.</summary>
    public const int MaxTrackedAddresses = 4096;

    /// <summary>The key that stands for every address beyond <see cref="MaxTrackedAddresses"/> (and an unknown one).</summary>
    public const string OtherAddresses = "other addresses";

    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, Counts> _counts = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private bool _disposed;

    /// <summary>How many addresses are tracked now (at most <see cref="MaxTrackedAddresses"/> + 1).</summary>
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

    /// <summary>Counts one failed login or refused connection from <paramref name="address"/>; true when it is to be logged in full.</summary>
    public bool Admit(IPAddress? address)
    {
        var key = KeyOf(address);
        lock (_counts)
        {
            if (!_counts.TryGetValue(key, out var counts))
            {
                if (_counts.Count >= MaxTrackedAddresses && !_counts.TryGetValue(key = OtherAddresses, out counts))
                {
                    counts = null;
                }
                if (counts is null)
                {
                    counts = new Counts();
                    _counts.Add(key, counts);
                }
                if (_timer is null && !_disposed)
                {
                    _timer = time.CreateTimer(_ => Flush(), null, Interval, Interval);
                }
            }
            counts.Failures++;
            return counts.Failures <= LoggedPerMinute;
        }
    }

    public void Dispose()
    {
        lock (_counts)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }

    /// <summary>The minute is over: one line per address with failures not logged, and every count starts again.</summary>
    private void Flush()
    {
        List<(string Key, int More)> unlogged;
        lock (_counts)
        {
            unlogged = [.. _counts.Where(c => c.Value.Failures > LoggedPerMinute).Select(c => (c.Key, c.Value.Failures - LoggedPerMinute))];
            if (_counts.Count == 0)
            {
                // A quiet minute: no timer until the next failure.
                _timer?.Dispose();
                _timer = null;
            }
            _counts.Clear();
        }
        foreach (var (key, more) in unlogged)
        {
            MoreFailedLogins(log, more, key);
        }
    }

    private static string KeyOf(IPAddress? address) => address is null ? OtherAddresses : ClientAddressKey.Of(address);

    [LoggerMessage(EventId = 1007, EventName = "MoreFailedLogins", Level = LogLevel.Warning,
        Message = "… {Count} more failed logins or refused connections from {Address} in the last minute")]
    private static partial void MoreFailedLogins(ILogger logger, int count, string address);

    private sealed class Counts
    {
        public int Failures { get; set; }
    }
}
