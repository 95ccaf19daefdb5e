using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EmailProxy.Storage;

namespace EmailProxy.Web;

/// <summary>
/// The bearer token of the control endpoints (<see cref="ControlEndpoints"/>): 32 random bytes,
/// base64url, made new at every start and written to <c>control.token</c> (0600) in the token
/// folder's parent folder once the proxy's ports are bound (a second instance that fails to bind
/// never replaces a running one's), and removed at a clean stop if it still holds this process's
/// token. Whoever can read the file (the proxy's user, root) may drive the proxy from the command
/// line; nobody else can. The token is never logged and never shown by <see cref="ToString"/>.
/// </summary>
internal sealed class ControlToken
{
    public const string FileName = "control.token";

    private readonly byte[] _value;

    public ControlToken(string tokenDirectory)
        : this(PathFor(tokenDirectory), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)))
    {
    }

    /// <summary>A given token (tests).</summary>
    public ControlToken(string path, string value)
    {
        Path = path;
        Value = value;
        _value = Encoding.UTF8.GetBytes(value);
    }

    /// <summary>Where the token is written: <c>control.token</c> beside the token folder.</summary>
    public string Path { get; }

    /// <summary>The token itself; never logged.</summary>
    public string Value { get; }

    /// <summary>The file for the token folder <paramref name="tokenDirectory"/>: in its parent folder.</summary>
    public static string PathFor(string tokenDirectory)
    {
        var folder = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(tokenDirectory));
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(folder) ?? folder, FileName);
    }

    /// <summary>Writes the file (atomically, 0600), replacing a stale one a proxy that died left.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public void Write() => PrivateFile.WriteText(Path, Value + "\n");

    /// <summary>Removes the file if it still holds this token (another instance may have written its own since).</summary>
    public void RemoveIfOwn()
    {
        try
        {
            if (Read(Path) == Value)
            {
                File.Delete(Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next start replaces it, and a command line that finds it stale works offline.
        }
    }

    /// <summary>The token a running proxy wrote to <paramref name="path"/>, or null when there is none (or it cannot be read).</summary>
    public static string? Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="authorization"/> is <c>Bearer &lt;this token&gt;</c>, compared in constant time.</summary>
    public bool Matches(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var offered = Encoding.UTF8.GetBytes(authorization.AsSpan(Scheme.Length).Trim().ToString());
        return CryptographicOperations.FixedTimeEquals(offered, _value);
    }

    public override string ToString() => $"ControlToken {{ Path = {Path} }}";
}
