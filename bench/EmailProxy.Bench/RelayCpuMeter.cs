using System.Diagnostics;

namespace EmailProxy.Bench;

/// <summary>Splits the machine's busy time during a workload into the bench, the relays (proxy and socats), Dovecot's processes and everything else.</summary>
internal sealed class RelayCpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ

    private readonly Func<TimeSpan> _relays;
    private readonly int _dovecot;
    private readonly long _machineStart;
    private readonly TimeSpan _selfStart;
    private readonly TimeSpan _relaysStart;
    private readonly TimeSpan _dovecotStart;
    private readonly long _started;

    private RelayCpuMeter(Func<TimeSpan> relays, int dovecot)
    {
        _relays = relays;
        _dovecot = dovecot;
        _machineStart = CpuMeter.MachineBusyTicks();
        _selfStart = SelfCpu();
        _relaysStart = relays();
        _dovecotStart = ProcessCpu.OfTree(dovecot);
        _started = Stopwatch.GetTimestamp();
    }

    public static RelayCpuMeter Start(RelayEnvironment environment, ProxyInstance proxy, IReadOnlyList<RelayPathSessions> sessions) =>
        new(() => proxy.ReadCpuTime() + sessions.Where(s => s.Path == RelayPath.Socat).Aggregate(TimeSpan.Zero, (sum, s) => sum + s.RelayCpu()), environment.DovecotPid);

    public RelayCpuUse Stop()
    {
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var machine = (CpuMeter.MachineBusyTicks() - _machineStart) / TicksPerSecond;
        var self = (SelfCpu() - _selfStart).TotalSeconds;
        var relays = (_relays() - _relaysStart).TotalSeconds;
        var dovecot = (ProcessCpu.OfTree(_dovecot) - _dovecotStart).TotalSeconds;
        return new RelayCpuUse(seconds, self / seconds, relays / seconds, dovecot / seconds, Math.Max(0, machine - self - relays - dovecot) / seconds);
    }

    private static TimeSpan SelfCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
