using System.Runtime.InteropServices;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;

namespace EmailProxy.Hosting;

/// <summary>
/// Before the proxy starts: every folder it must write (the master key's, the token folder, and tls/
/// when local TLS makes its own certificate) is created when missing and probed with a temporary file.
/// A folder this user cannot write is one line naming it, the user and the fix, instead of an access
/// error from deep inside the first write. The usual case is a container's <c>./config</c> that the
/// operator made as root, which the image's user (uid 1654) cannot write.
/// </summary>
internal static class StateFolders
{
    /// <summary>The uid the .NET container images and this project's image run as.</summary>
    public const int ContainerUid = 1654;

    /// <summary>The folders the proxy writes for <paramref name="config"/>, each once.</summary>
    public static IReadOnlyList<string> Of(ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var folders = new List<string>
        {
            Path.GetDirectoryName(Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory))!,
            config.TokenDirectory,
        };
        if (config.General.LocalTls != LocalTlsMode.Off && config.General.LocalCertificate is null)
        {
            folders.Add(Path.Combine(config.ConfigDirectory, LocalCertificateStore.FolderName));
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
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".write-test.{Environment.ProcessId}.tmp");
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
            : $"Give this user write access to {folder} (chown or chmod), or point token_dir and secret_file at a folder it owns.";

    private static bool InContainer => string.Equals(Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER"), "true", StringComparison.OrdinalIgnoreCase);

    private static string WhoAmI() => OperatingSystem.IsWindows() ? Environment.UserName : $"uid {GetEffectiveUserId()}";

    // DllImport rather than LibraryImport: the generated stubs need unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint GetEffectiveUserId();
}
