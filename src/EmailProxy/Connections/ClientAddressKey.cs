using System.Net;
using System.Net.Sockets;

namespace EmailProxy.Connections;

/// <summary>
/// The one way the proxy groups clients by address, for every per-address bound (the
/// <see cref="Accounts.LoginThrottle"/>'s delays, the <see cref="Accounts.KeyDerivationPool"/>'s
/// share, the <see cref="FailedLoginLog"/>'s lines): an IPv4 address (IPv4-mapped ones too) as it
/// is; an IPv6 address by its /64 prefix, because one host usually holds the whole prefix and could
/// otherwise take a fresh address for every connection.
/// </summary>
internal static class ClientAddressKey
{
    public static string Of(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
