using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace EmailProxy.Configuration;

/// <summary>
/// Reads the values of one section: each kind of value is parsed here, and a value that does not
/// parse becomes a problem naming the section, the key and the value (the caller gets null, or
/// the fallback, and carries on, so that every problem of a file is found in one run).
/// </summary>
internal sealed class SectionReader(IConfigurationSection section, string configDirectory, ConfigProblems problems)
{
    /// <summary>The section as written in the file, e.g. <c>account sales@x</c>.</summary>
    public string Name => section.Key;

    /// <summary>How many errors the whole file has so far (a section reader compares it before and after).</summary>
    public int ErrorCount => problems.Errors.Count;

    /// <summary>The trimmed value, or null when the key is absent or empty.</summary>
    public string? Text(string key)
    {
        var value = section[key]?.Trim();
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>The value named (case-insensitively) by one of <paramref name="choices"/>.</summary>
    public T? Choice<T>(string key, params (string Name, T Value)[] choices) where T : struct
    {
        var value = Text(key);
        if (value is null)
        {
            return null;
        }
        foreach (var (name, choice) in choices)
        {
            if (name.Equals(value, StringComparison.OrdinalIgnoreCase))
            {
                return choice;
            }
        }
        Error(key, value, $"must be one of {string.Join(", ", choices.Select(c => c.Name))}");
        return null;
    }

    public bool? Boolean(string key)
    {
        var value = Text(key);
        switch (value?.ToLowerInvariant())
        {
            case null:
                return null;
            case "true" or "yes" or "on" or "1":
                return true;
            case "false" or "no" or "off" or "0":
                return false;
            default:
                Error(key, value, "must be true or false");
                return null;
        }
    }

    public int? Integer(string key, int min, int max)
    {
        var value = Text(key);
        if (value is null)
        {
            return null;
        }
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
        {
            return number;
        }
        Error(key, value, $"must be a whole number from {min} to {max}");
        return null;
    }

    /// <summary>An absolute https:// URL, or http:// to a loopback host (tests, local identity servers).</summary>
    public Uri? Url(string key)
    {
        var value = Text(key);
        if (value is null)
        {
            return null;
        }
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            Error(key, value, "must be an absolute https:// URL");
            return null;
        }
        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
        {
            Error(key, value, "plain http:// is only allowed for loopback hosts; use https://");
            return null;
        }
        return uri;
    }

    /// <summary>A <c>host:port</c> listen address; empty or <c>off</c> turns the listener off (null); absent gives the fallback.</summary>
    public IPEndPoint? Listen(string key, IPEndPoint? fallback)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }
        var value = raw.Trim();
        if (value.Length == 0 || value.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (ListenAddress.TryParse(value, out var endPoint))
        {
            return endPoint;
        }
        Error(key, value, "must be host:port, e.g. 127.0.0.1:1993 or [::1]:1993 (empty turns it off)");
        return fallback;
    }

    /// <summary>A file name as the file gives it, made absolute against the configuration file's folder.</summary>
    public string Resolve(string file) => Path.GetFullPath(file, configDirectory);

    public void WarnUnknownKeys(FrozenSet<string> known)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key))
            {
                Warn(child.Key, null, "unknown key, ignored");
            }
        }
    }

    public void Error(string key, string? value, string message) => problems.Error(Name, key, value, message);

    public void Warn(string key, string? value, string message) => problems.Warn(Name, key, value, message);
}
