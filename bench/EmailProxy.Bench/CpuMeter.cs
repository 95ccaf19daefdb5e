using System.Diagnostics;
using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>
/// How busy the machine was during a part, split into the bench process, the proxy process and everything else
/// (other processes on the same cores, read from /proc/stat): figures taken while others ran are marked so.
/// </summary>
internal sealed class CpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ

    private readonly ProxyInstance? _proxy;
    private readonly long _machineStart;
    private readonly TimeSpan _selfStart;
    private readonly TimeSpan _proxyStart;
    private readonly long _started;

    private CpuMeter(ProxyInstance? proxy)
    {
        _proxy = proxy;
        _machineStart = MachineBusyTicks();
        _selfStart = SelfCpu();
        _proxyStart = proxy?.ReadCpuTime() ?? TimeSpan.Zero;
        _started = Stopwatch.GetTimestamp();
    }

    public static CpuMeter Start(ProxyInstance? proxy) => new(proxy);

    /// <summary>
    /// Waits up to <paramref name="limit"/> for a second in which other processes used less than a fifth of a core;
    /// returns how long it waited (the limit if the machine never went quiet).
    /// </summary>
    public static async Task<TimeSpan> WaitForQuietAsync(ProxyInstance? proxy, TimeSpan limit, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < limit)
        {
            var meter = Start(proxy);
            await Task.Delay(1000, cancellationToken);
            if (meter.Stop().OtherCores < 0.2)
            {
                break;
            }
        }
        return waited.Elapsed;
    }

    public CpuUse Stop()
    {
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var machine = (MachineBusyTicks() - _machineStart) / TicksPerSecond;
        var self = (SelfCpu() - _selfStart).TotalSeconds;
        var proxy = _proxy is null ? 0 : (_proxy.ReadCpuTime() - _proxyStart).TotalSeconds;
        return new CpuUse(seconds, self / seconds, proxy / seconds, Math.Max(0, machine - self - proxy) / seconds);
    }

    private static TimeSpan SelfCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>Busy ticks of all CPUs since boot: the first line of /proc/stat less idle and iowait.</summary>
    internal static long MachineBusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
        return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
    }
}
