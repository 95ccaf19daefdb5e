using System.Security.Cryptography;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.Storage;
using Microsoft.Extensions.Logging;

namespace EmailProxy.TokenStore;

/// <summary>
/// Keeps each account's tokens in its own file, encrypted under the master key. Files are written by
/// <see cref="PrivateFile"/>, so a crash leaves the old file or the new one, never a torn one. Folder
/// 0700, files 0600. <see cref="Open"/> prepares the folder at start: it removes what an interrupted
/// write left and rewrites the files an older version encrypted under a passphrase's SHA-256.
/// </summary>
internal sealed partial class TokenFileStore : ITokenStore
{
    private readonly MasterKey _key;
    private readonly TokenCipher _cipher;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly HashSet<string> _damaged = new(StringComparer.Ordinal);

    public TokenFileStore(string directory, MasterKey key, TimeProvider time, ILogger<TokenFileStore> log)
    {
        Directory = Path.GetFullPath(directory);
        _key = key;
        _cipher = new TokenCipher(key);
        _time = time;
        _log = log;
    }

    public string Directory { get; }

    /// <summary>
    /// The store for the proxy's start: token files named by an older version's case mapping
    /// (<see cref="TokenFileName.Legacy"/>) get their name under <see cref="TokenFileName.For"/>, and
    /// token files written under the passphrase's old key (<see cref="MasterKey.LegacyPassphraseKey"/>)
    /// are rewritten under the new one, one log line each. Problems are logged; a file that cannot be
    /// rewritten is still read (with the old key) and replaced by the next save.
    /// </summary>
    public static TokenFileStore Open(string directory, MasterKey key, TimeProvider time, ILogger<TokenFileStore> log)
    {
        var store = new TokenFileStore(directory, key, time, log);
        try
        {
            if (System.IO.Directory.Exists(store.Directory))
            {
                foreach (var path in System.IO.Directory.GetFiles(store.Directory, "*" + TokenFileName.Extension))
                {
                    store.RenameFromLegacyName(path);
                }
            }
            if (key.LegacyPassphraseKey is not null && System.IO.Directory.Exists(store.Directory))
            {
                foreach (var path in System.IO.Directory.GetFiles(store.Directory, "*.json"))
                {
                    store.MigrateFromLegacyKey(path);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogFolderUnreadable(log, store.Directory, e.Message);
        }
        return store;
    }

    /// <summary>
    /// Removes what writes interrupted by a crash left behind (the files themselves are whole): the
    /// token folder's <c>*.tmp</c>, and those of the passphrase's parameters file and of
    /// <paramref name="secretFile"/>, which may hold a key. Called once the proxy's ports are bound,
    /// so that a second instance that will fail to start never touches a running one's writes; one
    /// log line per file.
    /// </summary>
    public void RemoveStaleTemporaryFiles(string secretFile)
    {
        var parametersFile = PassphraseKdf.FileFor(Directory);
        foreach (var (folder, ofFile) in new[] { (Directory, null), (Path.GetDirectoryName(parametersFile), parametersFile), (Path.GetDirectoryName(secretFile), secretFile) })
        {
            try
            {
                foreach (var removed in folder is null ? [] : PrivateFile.RemoveStaleTemporaryFiles(folder, ofFile))
                {
                    LogStaleTemporaryRemoved(_log, removed);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogFolderUnreadable(_log, folder ?? secretFile, e.Message);
            }
        }
    }

    /// <summary>
    /// The account names the token files say they belong to (their readable <c>account</c>), nothing decrypted: at start, the
    /// accounts made from templates are made again from them. A file that cannot be read is left out (its account's load says why).
    /// </summary>
    public static IReadOnlyList<string> StoredAccountNames(string directory)
    {
        var names = new List<string>();
        try
        {
            if (!System.IO.Directory.Exists(directory))
            {
                return names;
            }
            foreach (var path in System.IO.Directory.GetFiles(directory, "*" + TokenFileName.Extension))
            {
                try
                {
                    var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokenJsonContext.Default.TokenFile);
                    // Only a file named as its account's would be: a renamed or copied file is not an account.
                    if (file?.Account is { Length: > 0 } account && string.Equals(Path.GetFileName(path), TokenFileName.For(account), StringComparison.Ordinal))
                    {
                        names.Add(account);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
                {
                    // Left out: it is logged when its account loads it.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return names;
        }
        return names;
    }

    /// <summary>The account's file, named by <see cref="TokenFileName.For"/>: two accounts never share one.</summary>
    public string PathFor(string accountName) => Path.Combine(Directory, TokenFileName.For(accountName));

    /// <summary>One proxy's (its instance lock keeps a second one out).</summary>
    public bool IsShared => false;

    /// <inheritdoc/>
    public string LocationOf(string accountName) => PathFor(accountName);

    /// <summary>Reads an account's tokens; null when there is no file or it cannot be used (logged).</summary>
    public async Task<StoredTokens?> LoadAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var path = PathFor(account.Name);
        byte[] json;
        try
        {
            json = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(_log, account.Name, path, e.Message);
            return null;
        }
        try
        {
            return TokenFile.Read(json, account.Name, _cipher);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or CryptographicException or FormatException or ArgumentException)
        {
            lock (_damaged)
            {
                _damaged.Add(path);
            }
            LogDamaged(_log, account.Name, path, e is CryptographicException ? "it does not decrypt with this master key" : e.Message);
            return null;
        }
    }

    /// <summary>
    /// Writes the account's tokens (the old file, if any, is replaced whole or not at all), holding
    /// the account's lock (<see cref="LockPathFor"/>): two processes (the proxy and <c>emailproxy auth</c>)
    /// never write one token file at once.
    /// </summary>
    /// <exception cref="IOException">The file could not be written, or another process held its lock for <see cref="LockTimeout"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public async Task SaveAsync(AccountOptions account, StoredTokens tokens, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        PrivateFile.CreatePrivateFolder(Directory);
        var path = PathFor(account.Name);
        using var held = await FileLock.AcquireAsync(LockPathFor(path), LockTimeout, _time, cancellationToken);
        KeepDamagedCopy(path);

        var file = TokenFile.Of(account, tokens, _time.GetUtcNow(), _cipher);
        PrivateFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(file, TokenJsonContext.Default.TokenFile));
    }

    /// <summary>
    /// Removes the account's token file, whatever it holds (a damaged one too), holding the account's
    /// lock as <see cref="SaveAsync"/> does. Copies kept of damaged files stay.
    /// </summary>
    /// <returns>Whether there was a file.</returns>
    /// <exception cref="IOException">The file could not be removed, or another process held its lock for <see cref="LockTimeout"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public Task<bool> DeleteAsync(string accountName, CancellationToken cancellationToken) =>
        DeleteAsync(Directory, accountName, LockTimeout, _time, cancellationToken);

    /// <summary>
    /// <see cref="DeleteAsync(string, CancellationToken)"/> without a key (the file is removed, not read):
    /// for <c>emailproxy tokens clear</c> without a running proxy.
    /// </summary>
    public static async Task<bool> DeleteAsync(string directory, string accountName, TimeSpan lockTimeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetFullPath(directory), TokenFileName.For(accountName));
        if (!File.Exists(path))
        {
            return false;
        }
        using var held = await FileLock.AcquireAsync(LockPathFor(path), lockTimeout, time, cancellationToken);
        if (!File.Exists(path))
        {
            return false;
        }
        File.Delete(path);
        return true;
    }

    /// <summary>How long a save or delete waits for another process to let go of the file (10 s).</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a save or a delete waits for another process's write of the same file.</summary>
    public TimeSpan LockTimeout { get; init; } = DefaultLockTimeout;

    /// <summary>
    /// The lock file of one token file: <c>&lt;token_dir&gt;/.locks/&lt;file&gt;.lock</c>, in a folder of its own
    /// so that the token folder holds token files only (never removed; see <see cref="FileLock"/>).
    /// </summary>
    public static string LockPathFor(string tokenFilePath)
    {
        var folder = Path.Combine(Path.GetDirectoryName(tokenFilePath)!, LockFolderName);
        PrivateFile.CreatePrivateFolder(folder);
        return Path.Combine(folder, Path.GetFileName(tokenFilePath) + ".lock");
    }

    /// <summary>The token folder's subfolder for the per-file locks.</summary>
    public const string LockFolderName = ".locks";

    /// <summary>
    /// The lock the running proxy holds on its token folder for its life: <c>&lt;token_dir&gt;.instance.lock</c>
    /// beside the folder. A command that would write tokens without the proxy (offline <c>auth</c>,
    /// <c>tokens clear</c>) takes it too, so it never writes behind a running proxy's back.
    /// </summary>
    public static string InstanceLockPathFor(string tokenDirectory) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(tokenDirectory)) + ".instance.lock";

    /// <summary>
    /// Takes the token folder's instance lock (<see cref="InstanceLockPathFor"/>) without waiting, making
    /// the folder it lives in if needed: the lock, or null when another process holds it.
    /// </summary>
    /// <exception cref="IOException">The lock file cannot be made or opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static FileLock? TryTakeInstanceLock(string tokenDirectory)
    {
        var lockPath = InstanceLockPathFor(tokenDirectory);
        if (Path.GetDirectoryName(lockPath) is { Length: > 0 } folder)
        {
            System.IO.Directory.CreateDirectory(folder);
        }
        return FileLock.TryAcquire(lockPath);
    }

    /// <summary>
    /// The first token file in <paramref name="directory"/> that holds secrets <paramref name="key"/>
    /// does not open, or null when every one opens (or there are none). Files that do not parse are
    /// passed over: they are damaged whatever the key.
    /// </summary>
    /// <exception cref="IOException">The folder or a file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or a file cannot be read.</exception>
    public static string? FindFileNotOpenedBy(string directory, byte[] key)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            return null;
        }
        foreach (var path in System.IO.Directory.GetFiles(directory, "*.json"))
        {
            try
            {
                var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokenJsonContext.Default.TokenFile);
                if (file is { Format: TokenFile.CurrentFormat, Secrets.Length: > 0, Account: not null }
                    && TokenCipher.TryOpen(key, file.Account, Convert.FromBase64String(file.Secrets)) is null)
                {
                    return path;
                }
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidDataException)
            {
                // Damaged whatever the key: LoadAsync says so when the account is used.
            }
        }
        return null;
    }

    /// <summary>
    /// Gives one file the name <see cref="TokenFileName.For"/> its account has, if it has the name an
    /// older version gave it and the two differ. The account is the one the file itself names (the
    /// old mapping could give two accounts one file: the file holds the tokens of the one saved
    /// last). The rename never replaces a file: when both names exist with different contents, the
    /// file of the new name is used and the old one kept, logged at every start until it is removed.
    /// </summary>
    private void RenameFromLegacyName(string path)
    {
        try
        {
            var account = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokenJsonContext.Default.TokenFile)?.Account;
            var name = Path.GetFileName(path);
            if (account is null || name != TokenFileName.Legacy(account) || name == TokenFileName.For(account))
            {
                return;
            }
            var target = PathFor(account);
            if (PrivateFile.TryRename(path, target))
            {
                LogRenamed(_log, account, path, target);
            }
            else if (File.ReadAllBytes(target).AsSpan().SequenceEqual(File.ReadAllBytes(path)))
            {
                // A rename interrupted between its link and its unlink: the old name is a second name of the same file.
                File.Delete(path);
                LogRenamed(_log, account, path, target);
            }
            else
            {
                LogRenameBlocked(_log, account, path, target);
            }
        }
        catch (JsonException)
        {
            // Not a file this version wrote whole: LoadAsync says what is wrong when the account is used.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogRenameFailed(_log, path, e.Message);
        }
    }

    /// <summary>Rewrites one file under the current key if it decrypts only with the passphrase's old key.</summary>
    private void MigrateFromLegacyKey(string path)
    {
        try
        {
            var file = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokenJsonContext.Default.TokenFile);
            if (file is null || file.Format != TokenFile.CurrentFormat || string.IsNullOrEmpty(file.Secrets) || file.Account is null)
            {
                // Not a file this version wrote whole (edited by hand?): LoadAsync says what is wrong when the account is used.
                return;
            }
            var blob = Convert.FromBase64String(file.Secrets);
            if (TokenCipher.TryOpen(_key.Key, file.Account, blob) is not null || TokenCipher.TryOpen(_key.LegacyPassphraseKey!, file.Account, blob) is not { } secrets)
            {
                // Already under the current key, or under neither: LoadAsync says what is wrong when the account is used.
                return;
            }
            var migrated = file with { Secrets = _cipher.Seal(file.Account, secrets) };
            PrivateFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(migrated, TokenJsonContext.Default.TokenFile));
            LogMigrated(_log, file.Account, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidDataException)
        {
            LogMigrationFailed(_log, path, e.Message);
        }
    }

    private void KeepDamagedCopy(string path)
    {
        lock (_damaged)
        {
            if (!_damaged.Remove(path) || !File.Exists(path))
            {
                return;
            }
        }
        var copy = $"{path}.damaged-{_time.GetUtcNow():yyyyMMddHHmmss}";
        File.Copy(path, copy, overwrite: true);
        LogDamagedKept(_log, path, copy);
    }

    [LoggerMessage(EventId = 3001, EventName = "TokenFileUnreadable", Level = LogLevel.Error,
        Message = "Token file for account {Account} at {Path} cannot be read ({Reason}); the account needs a new sign-in")]
    private static partial void LogUnreadable(ILogger logger, string account, string path, string reason);

    [LoggerMessage(EventId = 3002, EventName = "TokenFileDamaged", Level = LogLevel.Warning,
        Message = "Token file for account {Account} at {Path} cannot be used: {Reason}; the account needs a new sign-in")]
    private static partial void LogDamaged(ILogger logger, string account, string path, string reason);

    [LoggerMessage(EventId = 3003, EventName = "TokenFileDamagedKept", Level = LogLevel.Warning,
        Message = "The damaged token file {Path} was kept as {Copy} before a new one replaced it")]
    private static partial void LogDamagedKept(ILogger logger, string path, string copy);

    [LoggerMessage(EventId = 3004, EventName = "TokenFileMigrated", Level = LogLevel.Information,
        Message = "Token file for account {Account} at {Path} was rewritten under the passphrase's new key derivation (it was written by an older version under the passphrase's SHA-256)")]
    private static partial void LogMigrated(ILogger logger, string account, string path);

    [LoggerMessage(EventId = 3005, EventName = "TokenFileMigrationFailed", Level = LogLevel.Warning,
        Message = "Token file {Path} could not be rewritten under the passphrase's new key derivation ({Reason}); it is still read and will be rewritten by the next save")]
    private static partial void LogMigrationFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3006, EventName = "StaleTemporaryFileRemoved", Level = LogLevel.Information,
        Message = "Removed {Path}, left by a write that was interrupted (the token file beside it is the last complete one)")]
    private static partial void LogStaleTemporaryRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 3008, EventName = "TokenFileRenamed", Level = LogLevel.Information,
        Message = "Token file for account {Account} was renamed from {Path} to {NewPath} (file names now fold as the configuration compares account names, so that two accounts never share one)")]
    private static partial void LogRenamed(ILogger logger, string account, string path, string newPath);

    [LoggerMessage(EventId = 3009, EventName = "TokenFileRenameBlocked", Level = LogLevel.Warning,
        Message = "Token file {Path} (account {Account}) was named by an older version, but {NewPath} exists too: that newer file is used and the old one is left as it is; remove it once the account works")]
    private static partial void LogRenameBlocked(ILogger logger, string account, string path, string newPath);

    [LoggerMessage(EventId = 3010, EventName = "TokenFileRenameFailed", Level = LogLevel.Warning,
        Message = "Token file {Path} could not be given its new name at start ({Reason}); its account will not find its tokens until it is renamed")]
    private static partial void LogRenameFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3007, EventName = "TokenFolderUnreadable", Level = LogLevel.Warning,
        Message = "The token folder {Path} could not be prepared at start: {Reason}")]
    private static partial void LogFolderUnreadable(ILogger logger, string path, string reason);
}
