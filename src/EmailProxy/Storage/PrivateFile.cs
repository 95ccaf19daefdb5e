using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace EmailProxy.Storage;

/// <summary>
/// Writes a file so that a crash (power loss, SIGKILL) leaves the old content or the new one, never a
/// torn one: the bytes go to <c>&lt;name&gt;.&lt;random&gt;.tmp</c> in the same folder, created with
/// the final mode (0600 unless told otherwise), are flushed to disk, and the temporary file is then
/// renamed over the final name — the rename is the commit point — and the folder is flushed so that
/// the rename itself survives. <see cref="TryCreate"/> does the same but never replaces an existing
/// file, so that of two processes creating the same file one wins and the other can read the winner's.
/// Only the proxy writes in its folders: <see cref="RemoveStaleTemporaryFiles"/> at start clears what
/// an interrupted write left behind.
/// </summary>
internal static class PrivateFile
{
    /// <summary>0600: files only the proxy's user may read (keys, tokens).</summary>
    public const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0700: folders only the proxy's user may list.</summary>
    public const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The suffix of the temporary files; <see cref="RemoveStaleTemporaryFiles"/> removes <c>*.tmp</c>.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>EEXIST, the same on Linux, the BSDs and macOS.</summary>
    private const int ErrorFileExists = 17;

    /// <summary>
    /// TEST ONLY. When this environment variable names a file (its full path), every replacement of
    /// that file by <see cref="Write"/> stops after the temporary file is written and flushed and before
    /// the rename, writes a line starting with the variable's name to standard error, and waits for a
    /// line on standard input (or its end). The SIGKILL functional test uses it to kill the proxy inside
    /// the window where a torn write could happen. Read once per process; never set it in production.
    /// </summary>
    public const string TestPauseBeforeRenameVariable = "EMAILPROXY_TEST_PAUSE_BEFORE_RENAME";

    private static readonly DateTime ProcessStarted = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

    private static readonly string? TestPauseBeforeRenameOf =
        Environment.GetEnvironmentVariable(TestPauseBeforeRenameVariable) is { Length: > 0 } value ? Path.GetFullPath(value) : null;

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/>, replacing the file atomically.</summary>
    public static void WriteText(string path, string text, UnixFileMode mode = OwnerReadWrite) =>
        Write(path, Encoding.UTF8.GetBytes(text), mode);

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, replacing the file atomically.</summary>
    /// <param name="mode">The file's mode on Unix (ignored on Windows): 0600 unless given, e.g. 0644 for a certificate.</param>
    /// <exception cref="IOException">The file could not be written; the old one, if any, is untouched.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable; the old file is untouched.</exception>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode = OwnerReadWrite)
    {
        path = Path.GetFullPath(path);
        var temporary = WriteTemporary(path, content, mode);
        try
        {
            if (TestPauseBeforeRenameOf is not null && string.Equals(TestPauseBeforeRenameOf, path, StringComparison.Ordinal))
            {
                PauseBeforeRename(temporary, path);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        FlushFolder(path);
    }

    /// <summary>
    /// Creates <paramref name="path"/> with <paramref name="content"/> unless it exists: the content is
    /// written and flushed under a temporary name first and then linked to the final name, which fails
    /// if another process got there first. The file is never seen torn or half-written.
    /// </summary>
    /// <returns>True if this call created the file; false if it existed (it is left as it is).</returns>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content, UnixFileMode mode = OwnerReadWrite)
    {
        path = Path.GetFullPath(path);
        if (File.Exists(path))
        {
            return false;
        }
        var temporary = WriteTemporary(path, content, mode);
        try
        {
            if (!LinkWithoutReplacing(temporary, path))
            {
                return false;
            }
        }
        finally
        {
            TryDelete(temporary);
        }
        FlushFolder(path);
        return true;
    }

    /// <summary>
    /// Gives <paramref name="source"/> the name <paramref name="destination"/> (same folder) unless
    /// that name exists, atomically: the file is linked to the new name, which fails if the name is
    /// taken, and only then unlinked from the old one. A crash in between leaves both names on one
    /// file (the next call then finds the name taken). Never overwrites anything.
    /// </summary>
    /// <returns>True if the file now has the new name; false if the name was taken (nothing changed).</returns>
    /// <exception cref="IOException">The file could not be renamed.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static bool TryRename(string source, string destination)
    {
        source = Path.GetFullPath(source);
        destination = Path.GetFullPath(destination);
        if (File.Exists(destination) || !LinkWithoutReplacing(source, destination))
        {
            return false;
        }
        if (File.Exists(source))
        {
            File.Delete(source);
        }
        FlushFolder(destination);
        return true;
    }

    /// <summary>
    /// Removes the <c>*.tmp</c> files an interrupted write left in <paramref name="folder"/> (or only
    /// those of one file, <paramref name="ofFile"/>'s <c>&lt;name&gt;.*.tmp</c>). Only files last written
    /// before this process started count: a write of this process in flight is never taken for a
    /// leftover. A missing folder has none; a file that cannot be removed is left (it does no harm).
    /// </summary>
    /// <returns>The files removed, for the caller's log.</returns>
    /// <exception cref="IOException">The folder cannot be listed (e.g. it is a file).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be listed.</exception>
    public static IReadOnlyList<string> RemoveStaleTemporaryFiles(string folder, string? ofFile = null)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }
        var pattern = (ofFile is null ? "*" : Path.GetFileName(ofFile) + ".*") + TemporarySuffix;
        var removed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, pattern))
        {
            if (File.GetLastWriteTimeUtc(file) < ProcessStarted && TryDelete(file))
            {
                removed.Add(file);
            }
        }
        return removed;
    }

    /// <summary>Creates the folder 0700 (and its parents) if missing; an existing one is tightened to 0700.</summary>
    public static void CreatePrivateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }
        Directory.CreateDirectory(folder, OwnerOnlyFolder);
        if (File.GetUnixFileMode(folder) != OwnerOnlyFolder)
        {
            // A folder made by hand (0755) would show the file names to every local user.
            File.SetUnixFileMode(folder, OwnerOnlyFolder);
        }
    }

    private static string WriteTemporary(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        var temporary = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}{TemporarySuffix}";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }
        try
        {
            using var stream = new FileStream(temporary, options);
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(temporary) != mode)
        {
            // The umask may have taken bits away from the mode asked for (e.g. 0644 under umask 077): the caller's mode wins.
            File.SetUnixFileMode(temporary, mode);
        }
        return temporary;
    }

    /// <summary>
    /// Gives the written file its final name unless that name exists, atomically: link(2) fails with
    /// EEXIST when it does (.NET's <see cref="File.Move(string, string, bool)"/> without overwrite
    /// checks and then renames on Linux, so two callers can both "win"). Windows' move without
    /// replace is atomic already; a file system without hard links falls back to it as well.
    /// </summary>
    /// <returns>False when the name was taken.</returns>
    private static bool LinkWithoutReplacing(string temporary, string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            int result;
            try
            {
                result = Link(temporary, path);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                result = -1;
            }
            if (result == 0)
            {
                return true;
            }
            if (Marshal.GetLastPInvokeError() == ErrorFileExists)
            {
                return false;
            }
        }
        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>Flushes the folder's entry list, so that a rename just made survives a power loss (POSIX; Windows has no such call).</summary>
    private static void FlushFolder(string path)
    {
        if (OperatingSystem.IsWindows() || Path.GetDirectoryName(path) is not { Length: > 0 } folder)
        {
            return;
        }
        // .NET will not open a folder as a file, so this goes to open(2) and fsync(2) directly.
        // O_RDONLY (0) is the same everywhere; O_DIRECTORY is not, and is not needed.
        int descriptor;
        try
        {
            descriptor = Open(folder, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A platform without a C library under that name: the rename stands, only its durability is weaker.
            return;
        }
        if (descriptor < 0)
        {
            return;
        }
        try
        {
            // A failure here (EINVAL on file systems that cannot sync a folder) costs durability, not correctness.
            _ = FSync(descriptor);
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    private static void PauseBeforeRename(string temporary, string path)
    {
        Console.Error.WriteLine($"{TestPauseBeforeRenameVariable}: {temporary} is written and flushed; waiting for a line on standard input before renaming it to {path}");
        Console.Error.Flush();
        _ = Console.In.ReadLine();
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // "libc" is mapped by the runtime to the platform's C library (libc.so.6 on Linux, libSystem on macOS).
    // DllImport rather than LibraryImport: the generated stubs need unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string created);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int FSync(int descriptor);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int descriptor);
}
