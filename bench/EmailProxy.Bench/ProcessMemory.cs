using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>
/// A process's memory from <c>/proc/PID/smaps_rollup</c>, in bytes: <see cref="Rss"/> (= VmRSS), <see cref="Anonymous"/>
/// (heap and stacks: the GC heap, native allocations such as OpenSSL's, thread stacks), and the rest of the resident
/// set, mostly mapped files (the runtime, the assemblies, ReadyToRun code).
/// </summary>
internal sealed record ProcessMemory(long Rss, long Anonymous, long PrivateDirty)
{
    public long FileBacked => Rss - Anonymous;

    public static ProcessMemory Read(int processId)
    {
        long rss = 0, anonymous = 0, privateDirty = 0;
        foreach (var line in File.ReadLines($"/proc/{processId}/smaps_rollup"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            var name = line[..colon];
            if (name is not ("Rss" or "Anonymous" or "Private_Dirty"))
            {
                continue;
            }
            var bytes = long.Parse(line[(colon + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            switch (name)
            {
                case "Rss": rss = bytes; break;
                case "Anonymous": anonymous = bytes; break;
                default: privateDirty = bytes; break;
            }
        }
        return new ProcessMemory(rss, anonymous, privateDirty);
    }
}
