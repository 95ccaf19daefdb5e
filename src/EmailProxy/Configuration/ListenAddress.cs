using System.Globalization;
using System.Net;

namespace EmailProxy.Configuration;

/// <summary>Parses <c>host:port</c> listen addresses: an IP literal (IPv6 in brackets), <c>localhost</c> or <c>*</c>.</summary>
internal static class ListenAddress
{
    /// <summary>
    /// Whether only this machine can reach the address: 127.0.0.0/8, ::1 and IPv4-mapped 127.x
    /// (<see cref="IPAddress.IsLoopback"/> knows only ::ffff:127.0.0.1 of the mapped ones). The
    /// wildcards (0.0.0.0, ::) and every other address are reachable from elsewhere.
    /// </summary>
    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    public static bool TryParse(string value, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            return false;
        }
        var host = value[..colon];
        if (!int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        IPAddress? address = host.ToLowerInvariant() switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "0.0.0.0" => IPAddress.Any,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
