namespace EmailProxy.TokenStore;

/// <summary>
/// An exclusive advisory lock between processes: a lock file opened with <see cref="FileShare.None"/>,
/// which .NET turns into <c>flock(LOCK_EX | LOCK_NB)</c> on Unix (and a share-mode lock on Windows).
/// The kernel drops it when the process ends, however it ends, so a crash never leaves a stale lock;
/// the file itself stays (removing it would race with a process that just opened it). Advisory: it
/// keeps out only those who ask for it — every writer of a token file does (<see cref="TokenFileStore"/>),
/// and the running proxy holds one on its token folder (<see cref="TokenFileStore.InstanceLockPathFor"/>).
/// </summary>
internal sealed class FileLock : IDisposable
{
    /// <summary>How often a waiting caller tries again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly FileStream _stream;

    private FileLock(FileStream stream) => _stream = stream;

    /// <summary>The lock, or null when another holder has it (now).</summary>
    /// <exception cref="IOException">The lock file cannot be created (folder missing or not writable).</exception>
    /// <exception cref="UnauthorizedAccessException">The lock file cannot be opened.</exception>
    public static FileLock? TryAcquire(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Storage.PrivateFile.OwnerReadWrite;
        }
        try
        {
            return new FileLock(new FileStream(path, options));
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException) && File.Exists(path))
        {
            // EWOULDBLOCK from flock (or a sharing violation on Windows): someone holds it.
            return null;
        }
    }

    /// <summary>The lock, waiting up to <paramref name="timeout"/> for another holder to let go.</summary>
    /// <exception cref="IOException">Still held by another after <paramref name="timeout"/>, or the lock file cannot be created.</exception>
    public static async Task<FileLock> AcquireAsync(string path, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + timeout;
        while (true)
        {
            if (TryAcquire(path) is { } acquired)
            {
                return acquired;
            }
            if (time.GetUtcNow() >= deadline)
            {
                throw new IOException($"another process (another proxy, or emailproxy auth or tokens clear) held the lock {path} for {timeout.TotalSeconds:0} s");
            }
            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }

    public void Dispose() => _stream.Dispose();
}
