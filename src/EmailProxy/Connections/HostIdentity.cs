using System.Net;

namespace EmailProxy.Connections;

/// <summary>The machine's name as the proxy uses it in greetings, EHLO and its certificate.</summary>
internal static class HostIdentity
{
    /// <summary>The host name, or <c>localhost</c> when the machine has none usable in a protocol line.</summary>
    public static string Name { get; } = Dns.GetHostName() is { Length: > 0 } name && !name.Contains(' ', StringComparison.Ordinal) ? name : "localhost";
}
