using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EmailProxy.Configuration;
using Microsoft.Extensions.Logging;

namespace EmailProxy.TokenStore;

/// <summary>
/// Keeps each account's tokens in its own file, encrypted under the master key. Writes go to a
/// temporary file in the same folder, are flushed to disk and renamed over the old file, so a crash
/// leaves the old file or the new one, never a torn one. Folder 0700, files 0600.
/// </summary>
internal sealed partial class TokenFileStore
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly MasterKey _key;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly HashSet<string> _damaged = new(StringComparer.Ordinal);

    public TokenFileStore(string directory, MasterKey key, TimeProvider time, ILogger<TokenFileStore> log)
    {
        Directory = Path.GetFullPath(directory);
        _key = key;
        _time = time;
        _log = log;
    }

    public string Directory { get; }

    /// <summary>
    /// The account's file: the lower-cased name with every character outside <c>[a-z0-9@._+-]</c>
    /// written as <c>%XX</c> (UTF-8), so that two names never share a file.
    /// </summary>
    public string PathFor(string accountName)
    {
        var safe = new StringBuilder(accountName.Length);
        foreach (var b in Encoding.UTF8.GetBytes(accountName.ToLowerInvariant()))
        {
            var c = (char)b;
            if (b < 0x80 && (char.IsAsciiLetterOrDigit(c) || c is '@' or '.' or '-' or '_' or '+') && !(safe.Length == 0 && c == '.'))
            {
                safe.Append(c);
            }
            else
            {
                safe.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return Path.Combine(Directory, safe + ".json");
    }

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
            var file = JsonSerializer.Deserialize(json, TokenJsonContext.Default.TokenFile)
                ?? throw new InvalidDataException("the file is empty");
            if (file.Format != TokenFile.CurrentFormat)
            {
                throw new InvalidDataException($"format {file.Format} is not known to this version");
            }
            if (string.IsNullOrEmpty(file.Secrets))
            {
                throw new InvalidDataException("it holds no secrets");
            }
            var secrets = Decrypt(account.Name, file.Secrets);
            return new StoredTokens(secrets.AccessToken, file.AccessTokenExpires, secrets.RefreshToken, file.RefreshTokenRotated);
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

    public async Task SaveAsync(AccountOptions account, StoredTokens tokens, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, DirectoryMode0700);
            if (File.GetUnixFileMode(Directory) != DirectoryMode0700)
            {
                // A folder made by hand (0755) would show the metadata to every local user.
                File.SetUnixFileMode(Directory, DirectoryMode0700);
            }
        }
        var path = PathFor(account.Name);
        KeepDamagedCopy(path);

        var file = new TokenFile
        {
            Account = account.Name,
            Username = account.Username,
            Flow = account.Flow.ToString(),
            Scope = account.Scope,
            AccessTokenExpires = tokens.AccessTokenExpiresAt,
            RefreshTokenRotated = tokens.RefreshTokenRotatedAt,
            Saved = _time.GetUtcNow(),
            Secrets = Encrypt(account.Name, new TokenSecrets { AccessToken = tokens.AccessToken, RefreshToken = tokens.RefreshToken }),
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(file, TokenJsonContext.Default.TokenFile);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode0600;
            }
            await using (var stream = new FileStream(temporary, options))
            {
                await stream.WriteAsync(bytes, cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
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

    private string Encrypt(string accountName, TokenSecrets secrets)
    {
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(secrets, TokenJsonContext.Default.TokenSecrets);
        var blob = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = blob.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key.Key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), AssociatedData(accountName));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        return Convert.ToBase64String(blob);
    }

    private TokenSecrets Decrypt(string accountName, string secrets)
    {
        var blob = Convert.FromBase64String(secrets);
        if (blob.Length < NonceSize + TagSize)
        {
            throw new InvalidDataException("the secrets are truncated");
        }
        var plaintext = new byte[blob.Length - NonceSize - TagSize];
        using (var aes = new AesGcm(_key.Key, TagSize))
        {
            aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plaintext, AssociatedData(accountName));
        }
        try
        {
            return JsonSerializer.Deserialize(plaintext, TokenJsonContext.Default.TokenSecrets)
                ?? throw new InvalidDataException("the secrets are empty");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Binds a blob to its account, so a file copied to another account's name does not decrypt.</summary>
    private static byte[] AssociatedData(string accountName) =>
        Encoding.UTF8.GetBytes("emailproxy-tokens-v1:" + accountName.ToLowerInvariant());

    [LoggerMessage(EventId = 3001, EventName = "TokenFileUnreadable", Level = LogLevel.Error,
        Message = "Token file for account {Account} at {Path} cannot be read ({Reason}); the account needs a new sign-in")]
    private static partial void LogUnreadable(ILogger logger, string account, string path, string reason);

    [LoggerMessage(EventId = 3002, EventName = "TokenFileDamaged", Level = LogLevel.Warning,
        Message = "Token file for account {Account} at {Path} cannot be used: {Reason}; the account needs a new sign-in")]
    private static partial void LogDamaged(ILogger logger, string account, string path, string reason);

    [LoggerMessage(EventId = 3003, EventName = "TokenFileDamagedKept", Level = LogLevel.Warning,
        Message = "The damaged token file {Path} was kept as {Copy} before a new one replaced it")]
    private static partial void LogDamagedKept(ILogger logger, string path, string copy);
}
