using System.Runtime.InteropServices;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;

namespace EmailProxy.Hosting;

/// <summary>
/// Before the proxy starts: the folders it must write before it can serve at all (the master key's,
/// while the key does not exist yet, and tls/ while local TLS has not made its CA yet) are created when
/// missing and probed with a temporary file. One that this user cannot write is one line naming it, the
/// user and the fix, instead of an access error from deep inside the first write. The usual case is a
/// container's <c>./config</c> that the operator made as root, which the image's user (uid 1654) cannot
/// write. The token folder is not among them: without it the proxy still serves from memory, says so
/// at each sign-in, and <c>/readyz</c> names it.
/// </summary>
internal static class StateFolders
{
    /// <summary>The uid the .NET container images and this project's image run as.</summary>
    public const int ContainerUid = 1654;

    /// <summary>The folders the proxy must write now for <paramref name="config"/>, each once.</summary>
    public static IReadOnlyList<string> Of(ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var folders = new List<string>();
        var key = Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory);
        if (!File.Exists(key))
        {
            folders.Add(Path.GetDirectoryName(key)!);
        }
        var tls = config.TlsDirectory;
        if (config.General.AnyLocalTls && config.General.LocalCertificate is null
            && !File.Exists(Path.Combine(tls, LocalCertificateStore.CaCertificateFile)))
        {
            folders.Add(tls);
        }
        return [.. folders.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The first folder this process cannot create or write, with the fix in words; null when all can be written.</summary>
    public static string? FirstProblem(ProxyConfig config)
    {
        foreach (var folder in Of(config))
        {
            if (Probe(folder) is { } reason)
            {
                return $"{folder} cannot be written by this process ({WhoAmI()}): {reason}. The proxy keeps its key, tokens and tls/ there. {FixFor(folder)}";
            }
        }
        return null;
    }

    private static string? Probe(string folder)
    {
        try
        {
            if (!Directory.Exists(folder))
            {
                // Made private, as the key's and the CA's code would make it (tls/ holds private keys).
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(folder);
                }
                else
                {
                    Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
            // A name of its own each time: in a container the PID is always 1, and a leftover must not block the next start.
            var probe = Path.Combine(folder, $".write-test.{Guid.NewGuid():N}.tmp");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
            return null;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return e is UnauthorizedAccessException ? "permission denied" : e.Message;
        }
    }

    private static string FixFor(string folder) =>
        InContainer
            ? $"In a container the proxy runs as uid {ContainerUid}: on the host, make the mounted folder its own (sudo chown -R {ContainerUid}:{ContainerUid} ./config, or create it with install -d -o {ContainerUid} -g {ContainerUid} config)."
            : $"Give this user write access to {folder} (chown or chmod), or point secret_file and token_dir at a folder it owns.";

    private static bool InContainer => string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase);

    private static string WhoAmI() => OperatingSystem.IsWindows() ? Environment.UserName : $"uid {GetEffectiveUserId()}";

    // DllImport rather than LibraryImport: the generated stubs need unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint GetEffectiveUserId();
}
