using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>
/// CPU time used so far by a path's proxies, all the proxies the bench started (those of other paths idle meanwhile),
/// redis-server, haproxy, the bench itself (its clients, the fake upstream and identity server) and the whole machine
/// (busy ticks of /proc/stat): two readings around a sample give what each used during it, and what other processes did
/// meanwhile.
/// </summary>
internal readonly record struct ScaleOutCpu(TimeSpan Proxies, TimeSpan AllProxies, TimeSpan Redis, TimeSpan Haproxy, TimeSpan Bench, TimeSpan Machine)
{
    private const double TicksPerSecond = 100; // USER_HZ

    public static ScaleOutCpu Read(ScaleOutEnvironment environment, ScaleOutPath path)
    {
        var proxies = TimeSpan.Zero;
        foreach (var proxy in path.Proxies)
        {
            proxies += proxy.ReadCpuTime();
        }
        var all = TimeSpan.Zero;
        foreach (var proxy in environment.Replicas.Append(environment.FileProxy))
        {
            all += proxy.ReadCpuTime();
        }
        using var self = Process.GetCurrentProcess();
        return new ScaleOutCpu(
            proxies,
            all,
            ProcessCpu.Of(environment.Redis.ProcessId),
            ProcessCpu.Of(environment.Balancer.ProcessId),
            self.TotalProcessorTime,
            TimeSpan.FromSeconds(CpuMeter.MachineBusyTicks() / TicksPerSecond));
    }

    /// <summary>What was used between <paramref name="before"/> and this reading.</summary>
    public ScaleOutCpu Since(ScaleOutCpu before) => new(
        Proxies - before.Proxies,
        AllProxies - before.AllProxies,
        Redis - before.Redis,
        Haproxy - before.Haproxy,
        Bench - before.Bench,
        Machine - before.Machine);

    public ScaleOutCpu Plus(ScaleOutCpu other) => new(
        Proxies + other.Proxies,
        AllProxies + other.AllProxies,
        Redis + other.Redis,
        Haproxy + other.Haproxy,
        Bench + other.Bench,
        Machine + other.Machine);

    /// <summary>What processes the bench did not start used (the machine's busy time less all of these), never below zero.</summary>
    public TimeSpan Others => TimeSpan.FromTicks(Math.Max(0, (Machine - AllProxies - Redis - Haproxy - Bench).Ticks));
}
