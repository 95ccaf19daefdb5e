using System.Globalization;
using System.Text;
using System.Text.Json;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy tokens list</c> and <c>tokens show ACCOUNT</c>, without a running proxy: the key and
/// the token folder are found as <c>run</c> finds them, but nothing is created or rewritten (no key
/// file, no passphrase parameters, no folder, no rename or migration): a missing key or folder is
/// reported, and every account then needs a sign-in. Nothing of a token, code or secret is ever
/// printed, not even a part or a length: only the file's readable metadata, whether the secrets are
/// there, and the claims of an access token that is a JWT (decoded, not verified).
/// </summary>
internal static class TokenReport
{
    public const string SignedIn = "signed-in";
    public const string NeedsSignIn = "needs-sign-in";
    public const string NoTokenYet = "no-token-yet";

    /// <summary>token_from: the account has no tokens of its own; it uses another account's sign-in.</summary>
    public const string UsesSignInOf = "uses-sign-in-of";

    /// <summary>How <see cref="RedisTokenStore.LocationOf"/> begins: an account's location in Redis, not a file's path.</summary>
    private const string RedisLocationPrefix = "Redis key ";

    /// <summary>Operators alert before Microsoft's limit on an unused refresh token.</summary>
    public const int RefreshTokenInactivityDays = 90;

    /// <summary>The state of every account (or of <paramref name="accounts"/>), sorted by name.</summary>
    /// <remarks>
    /// With <c>token_store = redis</c> the records are read from Redis (the key file or <c>$EMAILPROXY_SECRET</c> is still
    /// needed to tell whether they open), and each account's location is its Redis key, never the connection's password.
    /// </remarks>
    /// <exception cref="MasterKeyException">The key exists but cannot be used (as <c>run</c> refuses it).</exception>
    /// <exception cref="TokenStoreUnavailableException">Redis cannot be reached (its message names the endpoints).</exception>
    public static async Task<IReadOnlyList<TokenStatus>> ReadAsync(
        ProxyConfig config, IEnumerable<AccountOptions> accounts, string? environmentSecret, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var directory = config.TokenDirectory;
        var secretFile = Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory);
        var inRedis = config.General.TokenStore == TokenStoreKind.Redis && config.General.Redis is not null;
        string? missing = null;
        MasterKey? key = null;
        if (!inRedis && !Directory.Exists(directory))
        {
            missing = $"the token folder {directory} does not exist (the first sign-in creates it)";
        }
        else if (string.IsNullOrEmpty(environmentSecret) && !File.Exists(secretFile))
        {
            missing = $"the key file {secretFile} does not exist (the proxy creates it at its first start)";
        }
        else if (!string.IsNullOrEmpty(environmentSecret) && MasterKey.TryDecode(environmentSecret) is null
            && !File.Exists(PassphraseKdf.FileFor(directory)))
        {
            missing = $"${MasterKey.EnvironmentVariable} is a passphrase, but its parameters file {PassphraseKdf.FileFor(directory)} does not exist (the proxy creates it at its next start)";
        }
        else
        {
            key = MasterKey.Load(secretFile, directory, environmentSecret);
        }

        if (inRedis)
        {
            await using var redis = RedisConnection.ForCommand(config.General.Redis!);
            var store = key is null ? null : new RedisTokenStore(redis, key, TimeProvider.System, NullLogger<RedisTokenStore>.Instance);
            // A Redis that cannot be reached is the store's TokenStoreUnavailableException, naming it.
            return await ReadAllAsync(config, accounts, store, name => $"{RedisLocationPrefix}{RedisTokenStore.KeyFor(name)} at {redis.Description}", missing, now, async (account, stop) =>
            {
                var record = await store!.ReadRecordAsync(account.Name, stop);
                return (record is null ? null : System.Text.Encoding.UTF8.GetBytes(record), "there are no tokens in Redis");
            }, cancellationToken);
        }
        var files = key is null ? null : new TokenFileStore(directory, key, TimeProvider.System, NullLogger<TokenFileStore>.Instance);
        return await ReadAllAsync(config, accounts, files, name => Path.Combine(directory, TokenFileName.For(name)), missing, now, (account, stop) => ReadFileAsync(Path.Combine(directory, TokenFileName.For(account.Name)), account, stop), cancellationToken);
    }

    /// <summary>The file store's bytes of an account's record, or null and why there are none.</summary>
    private static async Task<(byte[]? Bytes, string Absent)> ReadFileAsync(string path, AccountOptions account, CancellationToken cancellationToken)
    {
        try
        {
            return (await File.ReadAllBytesAsync(path, cancellationToken), "");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // An older version's name is renamed by the proxy's next start (TokenFileStore.Open); this command renames nothing.
            var legacy = Path.Combine(Path.GetDirectoryName(path)!, TokenFileName.Legacy(account.Name));
            return (null, legacy != path && File.Exists(legacy)
                ? $"there is no token file under this version's name, but {legacy} has an older version's name: the proxy renames it at its next start"
                : "there is no token file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"the token file cannot be read: {e.Message}");
        }
    }

    private static async Task<IReadOnlyList<TokenStatus>> ReadAllAsync(ProxyConfig config, IEnumerable<AccountOptions> accounts, ITokenStore? store, Func<string, string> locationOf, string? missing,
        DateTimeOffset now, Func<AccountOptions, CancellationToken, Task<(byte[]? Bytes, string Absent)>> read, CancellationToken cancellationToken)
    {
        var directory = config.TokenDirectory;
        var statuses = new List<TokenStatus>();
        foreach (var account in accounts.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase))
        {
            var status = await ReadOneAsync(account, store, locationOf, missing, now, read, cancellationToken);
            var switched = account.SmtpVia == SmtpVia.Auto ? Graph.GraphSwitchFile.Read(directory, account.Name)?.At : null;
            statuses.Add(status with { SendsMailThrough = Graph.GraphActivity.SendsThrough(account, switched) });
        }
        return statuses;
    }

    private static async Task<TokenStatus> ReadOneAsync(AccountOptions account, ITokenStore? store, Func<string, string> locationOf, string? missing, DateTimeOffset now,
        Func<AccountOptions, CancellationToken, Task<(byte[]? Bytes, string Absent)>> read, CancellationToken cancellationToken)
    {
        var what = locationOf(account.Name).StartsWith(RedisLocationPrefix, StringComparison.Ordinal) ? "the token record" : "the token file";
        var status = new TokenStatus
        {
            Account = account.Name,
            Username = account.Username,
            Provider = account.ProviderDisplayName,
            Flow = FlowName(account.Flow),
            State = NeedsSignIn,
            TokenFile = locationOf(account.Name),
            Template = account.Template,
        };
        if (account.TokenFrom is { } tokenFrom)
        {
            // No tokens of its own: its logins use the delegate's (listed under that account).
            return status with
            {
                State = UsesSignInOf,
                UsesSignInOf = tokenFrom,
                Reason = $"uses the sign-in of {tokenFrom} (token_from): it has no token file of its own",
                TokenFile = locationOf(tokenFrom),
            };
        }
        if (missing is not null || store is null)
        {
            return NotSignedIn(status, account, missing ?? "the master key cannot be read");
        }
        var (bytes, absent) = await read(account, cancellationToken);
        if (bytes is null)
        {
            return NotSignedIn(status, account, absent);
        }

        TokenFile? file;
        try
        {
            file = JsonSerializer.Deserialize(bytes, TokenJsonContext.Default.TokenFile);
        }
        catch (JsonException)
        {
            file = null;
        }
        if (file is null)
        {
            return NotSignedIn(status, account, $"{what} is damaged (it is not a token file's JSON)");
        }
        status = status with
        {
            Scopes = file.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            AccessTokenExpires = file.AccessTokenExpires,
            AccessTokenExpired = file.AccessTokenExpires is { } expires ? expires <= now : null,
            RefreshTokenRotated = file.RefreshTokenRotated,
            RefreshTokenAgeDays = file.RefreshTokenRotated is { } rotated ? (int)Math.Floor((now - rotated).TotalDays) : null,
            Saved = file.Saved == default ? null : file.Saved,
            Identity = file.Identity,
        };
        if (file.Format != TokenFile.CurrentFormat)
        {
            return NotSignedIn(status, account, $"{what} is damaged (format {file.Format} is not known to this version)");
        }
        if (string.IsNullOrEmpty(file.Secrets))
        {
            return NotSignedIn(status, account, $"{what} is damaged (it holds no secrets)");
        }
        if (await store.LoadAsync(account, cancellationToken) is not { } tokens)
        {
            return NotSignedIn(status, account, $"{what} does not decrypt with this master key (or its secrets are damaged)");
        }
        status = status with { Claims = tokens.AccessToken is { } accessToken ? DecodeClaims(accessToken) : null };
        if (account.Flow == OAuthFlow.ClientCredentials)
        {
            return tokens.AccessToken is null
                ? NotSignedIn(status, account, "there is no access token")
                : status with { State = SignedIn };
        }
        return tokens.RefreshToken is null
            ? NotSignedIn(status, account, "the refresh token is missing")
            : status with { State = SignedIn };
    }

    /// <summary>Client credentials need no person: without a token the proxy asks for one at the next login.</summary>
    private static TokenStatus NotSignedIn(TokenStatus status, AccountOptions account, string reason) =>
        account.Flow == OAuthFlow.ClientCredentials
            ? status with { State = NoTokenYet, Reason = reason + "; the proxy gets one at the next login (client credentials, no sign-in by a person)" }
            : status with { State = NeedsSignIn, Reason = reason };

    /// <summary>
    /// The claims of a JWT-shaped access token (three base64url parts), read WITHOUT verifying its
    /// signature; null when it is not a JWT (Google's are not) or its payload is not JSON.
    /// </summary>
    internal static TokenClaims? DecodeClaims(string accessToken)
    {
        if (!JwtPayload.TryRead(accessToken, out var root))
        {
            return null;
        }
        return new TokenClaims
        {
            Audience = Strings(root, "aud"),
            Tenant = String(root, "tid"),
            User = String(root, "upn") ?? String(root, "preferred_username") ?? String(root, "unique_name") ?? String(root, "email"),
            Scopes = String(root, "scp")?.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            Roles = Strings(root, "roles"),
        };
    }

    /// <summary>The text of <c>tokens list</c> / <c>tokens show</c>: one block per account.</summary>
    public static string Describe(IEnumerable<TokenStatus> statuses, DateTimeOffset now)
    {
        var text = new StringBuilder();
        foreach (var status in statuses)
        {
            if (text.Length > 0)
            {
                text.AppendLine();
            }
            Describe(text, status, now);
        }
        return text.ToString();
    }

    private static void Describe(StringBuilder text, TokenStatus s, DateTimeOffset now)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"[account {ClientText.Sanitize(s.Account, 200)}]");
        Line(text, "username", s.Username);
        Line(text, "provider", s.Provider);
        Line(text, "flow", s.Flow);
        Line(text, "state", s.State switch
        {
            SignedIn => "signed in",
            UsesSignInOf => s.Reason,
            NoTokenYet => $"no token yet: {s.Reason}",
            _ => $"needs sign-in: {s.Reason}",
        });
        Line(text, "identity", s.Identity);
        Line(text, "from template", s.Template is null ? null : $"[account {s.Template}] (made for this login name)");
        Line(text, "sends mail", s.SendsMailThrough);
        Line(text, s.TokenFile.StartsWith(RedisLocationPrefix, StringComparison.Ordinal) ? "token record" : "token file", s.TokenFile);
        if (s.Scopes is { } scopes)
        {
            Line(text, "scopes", string.Join(' ', scopes));
        }
        if (s.AccessTokenExpires is { } expires)
        {
            Line(text, "access token", expires <= now
                ? $"expired {When(expires)} ({Span(now - expires)} ago; renewed at the next login)"
                : $"expires {When(expires)} (in {Span(expires - now)})");
        }
        if (s.RefreshTokenRotated is { } rotated)
        {
            var age = s.RefreshTokenAgeDays ?? 0;
            Line(text, "refresh token", $"last rotated {When(rotated)} ({age} day{(age == 1 ? "" : "s")} ago"
                + (age >= RefreshTokenInactivityDays - 14 ? $"; Microsoft drops one unused for {RefreshTokenInactivityDays} days" : "") + ")");
        }
        if (s.Saved is { } saved)
        {
            Line(text, "saved", When(saved));
        }
        if (s.Claims is { } claims)
        {
            text.AppendLine("  access token claims (decoded, not verified):");
            Line(text, "  audience", claims.Audience is null ? null : string.Join(' ', claims.Audience));
            Line(text, "  tenant", claims.Tenant);
            Line(text, "  user", claims.User);
            Line(text, "  scp", claims.Scopes is null ? null : string.Join(' ', claims.Scopes));
            Line(text, "  roles", claims.Roles is null ? null : string.Join(' ', claims.Roles));
        }
    }

    private static void Line(StringBuilder text, string label, string? value)
    {
        if (value is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {label + ":",-16}{ClientText.Sanitize(value, 400)}");
        }
    }

    private static string When(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Span(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{(int)span.TotalDays} d {span.Hours} h"
        : span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
        : $"{Math.Max(0, (int)span.TotalMinutes)} min";

    private static string FlowName(OAuthFlow flow) => flow switch
    {
        OAuthFlow.DeviceCode => "device_code",
        OAuthFlow.ClientCredentials => "client_credentials",
        _ => "authorization_code",
    };

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string[]? Strings(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array => [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)],
            _ => null,
        };
    }
}
