using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>User + system CPU of a process, or of a process and its living descendants, from /proc.</summary>
internal static class ProcessCpu
{
    private const double TicksPerSecond = 100; // USER_HZ

    /// <summary>utime + stime of <paramref name="pid"/>; with <paramref name="withExitedChildren"/> also cutime + cstime (children it has waited for).</summary>
    public static TimeSpan Of(int pid, bool withExitedChildren = false)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return TimeSpan.Zero;
        }
        // After "pid (comm) ", field 3 (state) is index 0: utime 14, stime 15, cutime 16, cstime 17.
        var ticks = Field(fields, 11) + Field(fields, 12) + (withExitedChildren ? Field(fields, 13) + Field(fields, 14) : 0);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>The CPU of <paramref name="root"/> (with its waited-for children) and of every living descendant.</summary>
    public static TimeSpan OfTree(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && StatFields(pid) is { } fields)
            {
                parents[pid] = (int)Field(fields, 1);
            }
        }
        var total = Of(root, withExitedChildren: true);
        foreach (var pid in parents.Keys)
        {
            if (pid != root && DescendsFrom(pid, root, parents))
            {
                total += Of(pid, withExitedChildren: true);
            }
        }
        return total;
    }

    private static bool DescendsFrom(int pid, int root, Dictionary<int, int> parents)
    {
        for (var depth = 0; depth < 16 && parents.TryGetValue(pid, out var parent); depth++)
        {
            if (parent == root)
            {
                return true;
            }
            pid = parent;
        }
        return false;
    }

    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone meanwhile
        }
    }

    private static long Field(string[] fields, int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
}
